import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { createPost, distinctPng, signUpAndLogIn, type TestUser } from '../support/client.js';
import { createThrowawayPostgresDatabase, type ThrowawayDatabase } from '../support/postgres.js';
import { startServer, type RunningServer } from '../support/server.js';

const database = await createThrowawayPostgresDatabase();

interface FeedAnswer {
  captions: string[];
  /** SQL statements the server ran for it (IMAGEGRAM_DEBUG_QUERY_COUNT). */
  queries: number;
}

async function feedOf(server: RunningServer): Promise<FeedAnswer> {
  const response = await fetch(`${server.baseUrl}/posts?limit=100`);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { posts: { caption: string }[] };
  return { captions: body.posts.map((post) => post.caption), queries: Number(response.headers.get('x-query-count')) };
}

describe('the feed on two processes over one PostgreSQL database', { skip: database === null && 'PostgreSQL not reachable' }, () => {
  const db = database as ThrowawayDatabase;
  let a: RunningServer;
  let b: RunningServer;
  let ada: TestUser;

  before(async () => {
    // A remembered version outlives the whole test: whatever a process learns of the other's
    // writes, it learns from the notice, never from the version growing old.
    const env = { DATABASE_URL: db.url, IMAGEGRAM_DEBUG_QUERY_COUNT: '1', FEED_VERSION_MAX_AGE_MS: '60000' };
    a = await startServer({ env });
    b = await startServer({ env: { ...env, BLOB_STORE_URL: `file:${join(a.dataDir, 'blobs')}`, RUN_WORKER: 'off' } });
    ada = await signUpAndLogIn(a.baseUrl, 'ada');
  });
  after(async () => {
    await b?.cleanup();
    await a?.cleanup();
    await db.drop();
  });

  test('a process serves its own writes at once, and cache hits with no SQL', async () => {
    await feedOf(a);
    assert.equal((await feedOf(a)).queries, 0, 'a hit');
    assert.equal((await createPost(a.baseUrl, ada, await distinctPng(9400), 'written on a')).status, 201);
    const after = await feedOf(a);
    assert.ok(after.captions.includes('written on a'));
    assert.equal((await feedOf(a)).queries, 0);
  });

  // The timeout turns a notice that never comes into a failure, not a hang.
  test('a write on one process shows on the other once its notice arrives', { timeout: 30_000 }, async () => {
    const before = await feedOf(b);
    assert.equal((await feedOf(b)).queries, 0, 'b remembers its version');
    assert.equal((await createPost(a.baseUrl, ada, await distinctPng(9401), 'seen on b')).status, 201);
    // Waits for the condition (the notice), bounded by the test's timeout.
    let seen = await feedOf(b);
    while (!seen.captions.includes('seen on b')) {
      assert.deepEqual(seen.captions, before.captions, 'until then b serves the page it had');
      await sleep(5);
      seen = await feedOf(b);
    }
    assert.equal(seen.captions[0], 'seen on b');
  });
});
