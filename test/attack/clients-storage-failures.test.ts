import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { asStorageFailure } from '../../src/adapters/storage-failures.js';
import { isAppError } from '../../src/core/errors.js';
import { toProblem } from '../../src/transports/problem.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

test('a real ENOSPC (writing to /dev/full) becomes STORAGE_FULL, a 503, not a 500', async () => {
  let enospc: unknown;
  try {
    await pipeline(Readable.from([Buffer.alloc(64 * 1024)]), createWriteStream('/dev/full'));
  } catch (error) {
    enospc = error;
  }
  assert.equal((enospc as NodeJS.ErrnoException).code, 'ENOSPC');
  const translated = asStorageFailure(enospc);
  assert.ok(isAppError(translated, 'STORAGE_FULL'));
  assert.equal(translated.cause, enospc, 'the errno stays attached for the log');
  // Even untranslated (a library writing on its own), the transport answers 503, not 500.
  const problem = toProblem(enospc);
  assert.equal(problem.status, 503);
  assert.equal(problem.code, 'STORAGE_FULL');
  assert.doesNotMatch(problem.detail, /dev\/full/);
});

test('with every descriptor in use, staging and the fs blob store answer 503 SERVER_BUSY and leave no staging file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imagegram-emfile-'));
  try {
    // A low soft limit for the child alone, so the exhaustion is real (EMFILE from the kernel), quick and contained.
    const child = await promisify(execFile)(
      '/bin/sh',
      ['-c', `ulimit -n 128 && exec "${process.execPath}" --import tsx test/support/descriptor-exhaustion.child.ts "${dir}"`],
      { cwd: projectRoot, timeout: 60_000 },
    );
    const report = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { heldDescriptors: number; results: Record<string, string>; leftovers: string[] };
    assert.ok(report.heldDescriptors > 0);
    assert.deepEqual(report.results, {
      stagingReceive: '503 SERVER_BUSY',
      stagingPing: '503 SERVER_BUSY',
      blobPut: '503 SERVER_BUSY',
      blobRead: '503 SERVER_BUSY',
      blobPutFile: '503 SERVER_BUSY',
    });
    assert.deepEqual(report.leftovers, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a real SQLITE_FULL (the database at its max_page_count) becomes STORAGE_FULL through the dialect wrapper', async () => {
  const { BetterSqlite3 } = await import('../../src/adapters/metadata/sqlite-driver.js');
  const { Kysely, SqliteDialect, sql } = await import('kysely');
  const { reportingUnavailableStorage } = await import('../../src/adapters/metadata/storage-unavailable-dialect.js');
  const { sqliteDialect } = await import('../../src/adapters/metadata/sqlite.js');
  const dir = await mkdtemp(join(tmpdir(), 'imagegram-sqlite-full-'));
  const database = new BetterSqlite3(join(dir, 'full.sqlite'));
  const db = new Kysely<Record<string, never>>({ dialect: reportingUnavailableStorage(new SqliteDialect({ database }), sqliteDialect.isUnavailable) });
  try {
    await sql`create table t (bytes blob)`.execute(db);
    // A database that may not grow past a few pages: the next big insert fails the way a full disk does.
    database.pragma('max_page_count = 4');
    const failure = await sql`insert into t (bytes) values (zeroblob(1000000))`.execute(db).then(
      () => null,
      (error: unknown) => error,
    );
    assert.ok(isAppError(failure, 'STORAGE_FULL'), `got ${String(failure)}`);
    assert.match(String((failure.cause as { code?: string }).code), /^SQLITE_FULL/);
    assert.equal(toProblem(failure).status, 503);
    // Inside a transaction too: SQLite may roll back by itself on SQLITE_FULL, and the ROLLBACK
    // that follows must not replace the full disk with "no transaction is active" (a 500).
    const inTransaction = await db
      .transaction()
      .execute((tx) => sql`insert into t (bytes) values (zeroblob(1000000))`.execute(tx))
      .then(
        () => null,
        (error: unknown) => error,
      );
    assert.ok(isAppError(inTransaction, 'STORAGE_FULL'), `got ${String(inTransaction)}`);
  } finally {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  }
});
