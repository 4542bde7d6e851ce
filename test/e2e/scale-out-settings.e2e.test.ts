import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { runImagegram } from '../support/cli.js';
import { createPost, distinctPng, signUpAndLogIn } from '../support/client.js';
import { createThrowawayPostgresDatabase, type ThrowawayDatabase } from '../support/postgres.js';
import { startServer, type RunningServer } from '../support/server.js';

const database = await createThrowawayPostgresDatabase();

describe('settings every process of a deployment must share, over one PostgreSQL database', { skip: database === null && 'PostgreSQL not reachable' }, () => {
  const db = database as ThrowawayDatabase;
  let a: RunningServer;
  let b: RunningServer;
  const dirs: string[] = [];
  /** The environment of one more process on the shared database, with a data dir of its own. */
  const another = async (env: Record<string, string | undefined>) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'imagegram-scale-out-'));
    dirs.push(dataDir);
    const merged: Record<string, string> = { ...a.env, DATA_DIR: dataDir, PORT: '0', BLOB_STORE_URL: `file:${join(a.dataDir, 'blobs')}` };
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete merged[name];
      else merged[name] = value;
    }
    return merged;
  };

  before(async () => {
    // Neither sets CURSOR_SECRET: the one generated on first start lives in the database.
    a = await startServer({ env: { DATABASE_URL: db.url } });
    b = await startServer({ env: { DATABASE_URL: db.url, BLOB_STORE_URL: `file:${join(a.dataDir, 'blobs')}`, RUN_WORKER: 'off' } });
  });
  after(async () => {
    await b?.cleanup();
    await a?.cleanup();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    await db.drop();
  });

  test('a cursor one process issued is accepted by the other, with no CURSOR_SECRET set anywhere', async () => {
    const ada = await signUpAndLogIn(a.baseUrl, 'ada');
    for (const seed of [1, 2]) assert.equal((await createPost(a.baseUrl, ada, await distinctPng(9300 + seed), `post ${seed}`)).status, 201);
    const first = (await (await fetch(`${a.baseUrl}/posts?limit=1`)).json()) as { nextCursor: string };
    const next = await fetch(`${b.baseUrl}/posts?limit=1&cursor=${encodeURIComponent(first.nextCursor)}`);
    assert.equal(next.status, 200, await next.clone().text());
    assert.equal(((await next.json()) as { posts: unknown[] }).posts.length, 1);
  });

  test('the database keeps a salted fingerprint of the admin token, never the token', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string; value: string }>('SELECT name, value FROM instance_settings');
      const fingerprint = rows.find((row) => row.name === 'admin-token-fingerprint')?.value ?? '';
      assert.match(fingerprint, /^hmac-sha256:[\w-]{16,}:[\w-]{40,}$/);
      assert.equal(
        rows.some((row) => row.value.includes(a.adminToken)),
        false,
      );
    } finally {
      await client.end();
    }
  });

  test('a process with another ADMIN_TOKEN, or none (a generated one), refuses to start and says how to rotate', async () => {
    const runs = await Promise.all([
      runImagegram(await another({ ADMIN_TOKEN: 'a-different-admin-token-0123456789' }), ['serve']),
      runImagegram(await another({ ADMIN_TOKEN: 'a-different-admin-token-0123456789' }), ['worker']),
      runImagegram(await another({ ADMIN_TOKEN: undefined }), ['serve']),
    ]);
    for (const run of runs) {
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /cannot start: .*the admin token the other processes of this deployment use/);
      assert.match(run.stderr, /Set ADMIN_TOKEN to the same value on every serve and worker process/);
      assert.match(run.stderr, /imagegram rotate-admin-token/);
    }
    assert.match(runs[0]!.stderr, /ADMIN_TOKEN differs/);
    assert.match(runs[2]!.stderr, /ADMIN_TOKEN is not set, so this process would use the one generated in/);
    // Running processes keep serving with the token they started with.
    assert.equal((await fetch(`${b.baseUrl}/admin/stats`, { headers: { 'x-access-token': a.adminToken } })).status, 200);
  });

  test("rotate-admin-token makes the new token the deployment's: a process with it starts, one with the old one no longer does", async () => {
    const rotated = 'the-rotated-admin-token-0123456789';
    const rotation = await runImagegram(await another({ ADMIN_TOKEN: rotated }), ['rotate-admin-token']);
    assert.equal(rotation.status, 0, rotation.stderr);
    assert.match(rotation.stdout, /restart every serve and worker process/);
    await b.stop();
    b.env.ADMIN_TOKEN = rotated;
    b = await b.restart();
    assert.equal((await fetch(`${b.baseUrl}/admin/stats`, { headers: { 'x-access-token': rotated } })).status, 200);
    const old = await runImagegram(await another({}), ['worker']);
    assert.equal(old.status, 1);
    assert.match(old.stderr, /ADMIN_TOKEN differs/);
  });
});
