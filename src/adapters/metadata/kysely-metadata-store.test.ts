import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createThrowawayPostgresDatabase } from '../../../test/support/postgres.js';
import { isAppError } from '../../core/errors.js';
import { openPostgresMetadataStore } from './postgres.js';
import { openSqliteMetadataStore } from './sqlite.js';

// What the port contract cannot express with one store: several processes, and a dead database.

const run = promisify(execFile);
const sqliteModule = fileURLToPath(new URL('./sqlite.ts', import.meta.url));
const unavailable = (error: unknown) => isAppError(error, 'STORAGE_UNAVAILABLE');

describe('SQLite metadata store operations', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'imagegram-metadata-ops-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  test('two processes migrating one file at once both succeed', async () => {
    const file = join(dir, 'shared.sqlite');
    // Separate processes: better-sqlite3 waits for a lock synchronously, so two stores on one
    // file inside one process would block each other's event loop.
    // Both start at the same instant, well after either child has loaded, so they really race.
    const startAt = Date.now() + 3_000;
    const script = `import { openSqliteMetadataStore } from ${JSON.stringify(sqliteModule)};
      const store = openSqliteMetadataStore(${JSON.stringify(file)});
      await store.ping();
      await new Promise((resolve) => setTimeout(resolve, ${startAt} - Date.now()));
      await store.migrate(); await store.users.findById('x'); await store.close();`;
    const migrateInChild = () =>
      run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        timeout: 30_000,
      });
    await Promise.all([migrateInChild(), migrateInChild()]);
    const store = openSqliteMetadataStore(file);
    await store.migrate();
    assert.equal(await store.users.findById('x'), null);
    await store.close();
  });

  test('a location that cannot hold the file is STORAGE_UNAVAILABLE', async () => {
    const notADirectory = join(dir, 'regular-file');
    await writeFile(notADirectory, '');
    const store = openSqliteMetadataStore(join(notADirectory, 'metadata.sqlite'));
    await assert.rejects(store.ping(), unavailable);
    await assert.rejects(store.users.findById('x'), unavailable);
    await store.close();
  });
});

const postgres = await createThrowawayPostgresDatabase();
after(() => postgres?.drop());

const skipPostgres = postgres === null && 'PostgreSQL not reachable';

describe('PostgreSQL metadata store operations', { skip: skipPostgres }, () => {
  test('two stores migrating one database at once both succeed', async () => {
    const url = postgres?.url ?? '';
    const [a, b] = [openPostgresMetadataStore(url), openPostgresMetadataStore(url)];
    await Promise.all([a.migrate(), b.migrate()]);
    assert.equal(await b.users.findById('x'), null);
    await Promise.all([a.close(), b.close()]);
  });
});

test('a PostgreSQL server refusing connections is STORAGE_UNAVAILABLE', async () => {
  const store = openPostgresMetadataStore('postgres://postgres@127.0.0.1:1/imagegram');
  await assert.rejects(store.ping(), unavailable);
  await assert.rejects(
    store.transaction((tx) => tx.users.findById('x')),
    unavailable,
  );
  await store.close();
});
