import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CompiledQuery } from 'kysely';
import { SqliteWriterThread, writerGoneCode } from './sqlite-writer-driver.js';

describe('SQLite writer thread', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'imagegram-writer-thread-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  test('BLOBs and big integers cross the thread boundary intact', async () => {
    const thread = new SqliteWriterThread(join(dir, 'values.sqlite'));
    await thread.open();
    try {
      const blob = Buffer.from([0, 1, 2, 255]);
      const { rows } = await thread.execute<{ b: Buffer; n: number }>(CompiledQuery.raw('select ? as b, ? as n', [blob, 2 ** 40]));
      assert.ok(Buffer.isBuffer(rows[0]!.b), 'a BLOB comes back as a Buffer');
      assert.deepEqual(rows[0], { b: blob, n: 2 ** 40 });
      await thread.execute(CompiledQuery.raw('create table t (v blob)'));
      const inserted = await thread.execute(CompiledQuery.raw('insert into t (v) values (?)', [blob]));
      assert.deepEqual([inserted.numAffectedRows, inserted.insertId], [1n, 1n]);
    } finally {
      await thread.close();
    }
  });

  test('driver errors keep their SQLite code', async () => {
    const thread = new SqliteWriterThread(join(dir, 'errors.sqlite'));
    await thread.open();
    try {
      await thread.execute(CompiledQuery.raw('create table t (v text unique)'));
      await thread.execute(CompiledQuery.raw("insert into t values ('x')"));
      await assert.rejects(thread.execute(CompiledQuery.raw("insert into t values ('x')")), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
    } finally {
      await thread.close();
    }
  });

  test('a posted statement that fails fails the next executed one instead of running it', async () => {
    const thread = new SqliteWriterThread(join(dir, 'posted.sqlite'));
    await thread.open();
    try {
      await thread.execute(CompiledQuery.raw('create table t (v integer)'));
      thread.post(CompiledQuery.raw('release no_such_savepoint'));
      thread.post(CompiledQuery.raw('insert into t values (1)'));
      await assert.rejects(thread.execute(CompiledQuery.raw('insert into t values (2)')), /no such savepoint/);
      thread.post(CompiledQuery.raw('insert into t values (3)'));
      const { rows } = await thread.execute(CompiledQuery.raw('select v from t'));
      assert.deepEqual(rows, [{ v: 3 }], 'skipped up to the failure report, then running again');
    } finally {
      await thread.close();
    }
  });

  test('when the thread dies, pending and later statements fail as unavailable and the cause is reported', async () => {
    const deaths: unknown[] = [];
    const thread = new SqliteWriterThread(join(dir, 'dies.sqlite'), (cause) => deaths.push(cause));
    await thread.open();
    const pending = thread.execute(CompiledQuery.raw('select 1'));
    await thread.terminate();
    // The statement may have been answered before the thread went; it must not hang either way.
    await pending.catch((error: unknown) => assert.equal((error as { code?: string }).code, writerGoneCode));
    await assert.rejects(thread.execute(CompiledQuery.raw('select 1')), { code: writerGoneCode });
    assert.equal(deaths.length, 1);
    await thread.close();
  });

  test('a database that cannot be opened fails open(), and a later open() tries again', async () => {
    const thread = new SqliteWriterThread(join(dir, 'missing', '\0bad'));
    await assert.rejects(thread.open());
    await assert.rejects(thread.open());
  });
});
