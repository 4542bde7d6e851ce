import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { addComment, createPost, distinctPng, problemOf, signUpAndLogIn, type TestUser } from '../support/client.js';
import { connectTestRedis, deleteKeysUnder, keysUnder, testRedisUrl, throwawayKeyPrefix } from '../support/redis.js';
import { startServer, type RunningServer } from '../support/server.js';

interface FeedPage {
  posts: { id: string; caption: string }[];
  nextCursor: string | null;
}

// Probe once: null means unreachable and not required (TEST_REDIS_URL unset), so skip.
const redisUrl = await testRedisUrl();

describe('scale-out with Redis: two processes over one database share rate limits and feed pages', { skip: redisUrl === null && 'Redis not reachable' }, () => {
  const prefix = throwawayKeyPrefix();
  const writesPerMinute = 4;
  let a: RunningServer;
  let b: RunningServer;
  let redis: Redis;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    const env = { REDIS_URL: redisUrl!, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: String(writesPerMinute) };
    a = await startServer({ env });
    // B has a data dir of its own (two processes may not share one) but A's database (its SQLite
    // file, in WAL mode, or its PostgreSQL database) and A's blobs; A's worker runs the jobs of both.
    const shared = { DATABASE_URL: a.env.DATABASE_URL ?? `sqlite:${join(a.dataDir, 'imagegram.sqlite')}`, BLOB_STORE_URL: `file:${join(a.dataDir, 'blobs')}` };
    b = await startServer({ env: { ...env, ...shared, RUN_WORKER: 'off' } });
    redis = await connectTestRedis(redisUrl!);
    // Two sign-ups from one IP: within POST /users's limit, which both processes now share too.
    alice = await signUpAndLogIn(a.baseUrl, 'alice');
    bob = await signUpAndLogIn(b.baseUrl, 'bob');
  });
  after(async () => {
    // B first: it holds connections to the database A's cleanup drops.
    await b?.cleanup();
    await a?.cleanup();
    if (redis) {
      await deleteKeysUnder(redis, prefix);
      redis.disconnect();
    }
  });

  async function feed(server: RunningServer): Promise<{ body: string; page: FeedPage }> {
    const response = await fetch(`${server.baseUrl}/posts`);
    assert.equal(response.status, 200);
    const body = await response.text();
    return { body, page: JSON.parse(body) as FeedPage };
  }

  test('a write limit is one budget across both processes: requests split between them get 429 past it', async () => {
    const post = await createPost(a.baseUrl, alice, await distinctPng(7001), 'limited');
    assert.equal(post.status, 201);
    const { id } = (await post.json()) as { id: string };

    // Alternating A, B, A, …: neither process alone sees more than 3, so only a shared count refuses any.
    const statuses: number[] = [];
    for (let i = 0; i < writesPerMinute + 2; i++) {
      const server = i % 2 === 0 ? a : b;
      statuses.push((await addComment(server.baseUrl, alice, id, `comment ${i}`)).status);
    }
    assert.deepEqual(statuses, [201, 201, 201, 201, 429, 429]);
    const refused = await addComment(a.baseUrl, alice, id, 'one more');
    assert.equal((await problemOf(refused)).code, 'RATE_LIMITED');
    assert.ok(Number(refused.headers.get('retry-after')) > 0);

    const counters = await keysUnder(redis, `${prefix}rate-limit:`);
    assert.ok(
      counters.some((key) => key.includes('/posts/:id/comments')),
      counters.join('\n'),
    );
  });

  test('the feed cache is shared and exact: a post made via B shows on A at once, and pages come from Redis', async () => {
    const before = await feed(a);
    const cached = await keysUnder(redis, `${prefix}page:feed:`);
    assert.ok(cached.length > 0, 'A cached its page in Redis');

    const created = await createPost(b.baseUrl, bob, await distinctPng(7002), 'made on B');
    assert.equal(created.status, 201);
    const { id } = (await created.json()) as { id: string };
    assert.ok(!before.page.posts.some((post) => post.id === id));

    // The write bumped the feed version in the database: A's next read misses and renders anew.
    // On SQLite at once (A sees the file's data_version move); on PostgreSQL once B's NOTIFY
    // reaches A, which normally beats the next request but is not ordered with it.
    const shows = (page: FeedPage) => page.posts.some((post) => post.id === id && post.caption === 'made on B');
    let afterWrite = await feed(a);
    if (a.env.DATABASE_URL?.startsWith('postgres')) {
      // FEED_VERSION_MAX_AGE_MS (1 s) bounds it even if the notice were lost; the deadline only ends a broken run.
      for (const deadline = Date.now() + 10_000; !shows(afterWrite.page) && Date.now() < deadline; ) afterWrite = await feed(a);
    }
    assert.ok(shows(afterWrite.page), afterWrite.body);

    // B never rendered this version; it answers from the entry A stored. Replacing that entry's
    // body in Redis shows which store B's answer came from.
    const [key, ...others] = (await keysUnder(redis, `${prefix}page:feed:`)).filter((k) => !cached.includes(k));
    assert.ok(key !== undefined && others.length === 0, 'one new page entry');
    assert.equal(await redis.get(key), afterWrite.body);
    assert.ok((await redis.pttl(key)) > 0, 'cache entries expire');
    const marked = JSON.stringify({ ...afterWrite.page, nextCursor: 'from-redis' });
    await redis.set(key, marked, 'KEEPTTL');
    assert.equal((await feed(b)).body, marked);
  });
});

describe('scale-out with Redis down: the server starts and serves, failing open', () => {
  let server: RunningServer;
  let carol: TestUser;

  before(async () => {
    // Nothing listens on port 1 of loopback: every connection attempt is refused at once.
    server = await startServer({ env: { REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: throwawayKeyPrefix(), RATE_LIMIT_PER_MINUTE: '2' } });
    carol = await signUpAndLogIn(server.baseUrl, 'carol');
  });
  after(() => server?.cleanup());

  test('writes are not limited, the feed renders uncached, nothing waits on Redis, and the outage is logged once', async () => {
    const started = Date.now();
    const post = await createPost(server.baseUrl, carol, await distinctPng(7003), 'no redis');
    assert.equal(post.status, 201);
    const { id } = (await post.json()) as { id: string };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await addComment(server.baseUrl, carol, id, `comment ${i}`)).status);
    assert.deepEqual(statuses, [201, 201, 201, 201], 'past the limit of 2, because the counters are unreachable');
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${server.baseUrl}/posts`);
      assert.equal(response.status, 200);
      assert.ok(((await response.json()) as FeedPage).posts.some((p) => p.id === id));
    }
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    assert.equal(server.output.filter((line) => line.includes('Redis unreachable')).length, 1, server.output.join('\n'));
  });
});
