import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runImagegram } from '../support/cli.js';
import { reachablePostgresUrl } from '../support/postgres.js';
import { testBucket, type TestBucket } from '../support/radosgw.js';
import { startServer, type RunningServer } from '../support/server.js';

// What an operator sees when a scale-out setting is wrong: exit 1 and one line naming the cause
// and the fix, not a stack trace. (A second process on one DATA_DIR, a different ADMIN_TOKEN and
// a missing bucket have their own suites.)

const base = { HOST: '127.0.0.1', PORT: '0', ADMIN_TOKEN: 'misconfiguration-admin-token-0123', LOG_LEVEL: 'warn' };
const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at /, `a stack trace:\n${stderr}`);

describe('misconfigured scale-out: the process refuses to start and says why', () => {
  const dirs: string[] = [];
  const dataDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imagegram-misconfig-'));
    dirs.push(dir);
    return dir;
  };
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  test('DATABASE_URL where nothing listens: names the address (password hidden) and asks whether PostgreSQL runs', async () => {
    const run = await runImagegram({ ...base, DATA_DIR: await dataDir(), DATABASE_URL: 'postgres://imagegram:s3cret@127.0.0.1:9/imagegram' }, ['serve']);
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /cannot start: could not open the metadata database, PostgreSQL at postgres:\/\/imagegram:\*\*\*@127\.0\.0\.1:9\/imagegram: connect ECONNREFUSED .*Nothing listens there: is PostgreSQL running/,
    );
    assert.doesNotMatch(run.stderr, /s3cret/);
    noStack(run.stderr);
  });

  test('a PostgreSQL database that does not exist: says to create it', async (t) => {
    const server = await reachablePostgresUrl();
    if (!server) return t.skip('PostgreSQL not reachable');
    const missing = new URL(server);
    missing.pathname = '/imagegram_never_created';
    const run = await runImagegram({ ...base, DATA_DIR: await dataDir(), DATABASE_URL: missing.toString() }, ['worker']);
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /database "imagegram_never_created" does not exist \(3D000\)\. The database does not exist: create it once \(`createdb imagegram_never_created`/,
    );
    noStack(run.stderr);
  });

  describe('SQLite in each of several processes over one bucket', () => {
    let bucket: TestBucket | null;
    let first: RunningServer | undefined;
    before(async () => {
      bucket = await testBucket();
    });
    after(async () => {
      await first?.cleanup();
      await bucket?.close();
    });

    test("the second process, with a database of its own, refuses the bucket the first one's database uses", async (t) => {
      if (!bucket) return t.skip('RADOS Gateway not reachable');
      const shared = { ...bucket.env, BLOB_STORE_URL: bucket.blobStoreUrl('images/') };
      // Each on its own default SQLite file in its own data dir: the mistake.
      first = await startServer({ env: { ...shared, DATABASE_URL: `sqlite:${join(await dataDir(), 'a.sqlite')}` } });
      const run = await runImagegram({ ...base, ...shared, DATA_DIR: await dataDir() }, ['serve']);
      assert.equal(run.status, 1, run.stderr);
      assert.match(
        run.stderr,
        /cannot start: the bucket "imagegram-test-\w+" \(prefix images\/\) in BLOB_STORE_URL holds the images of another imagegram database/,
      );
      assert.match(run.stderr, /with several processes that is PostgreSQL/);
      noStack(run.stderr);
      // The first keeps working, and restarts fine: it is its own database's bucket.
      await first.stop();
      first = await first.restart();
    });
  });
});
