import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { addComment, createPost, distinctPng, signUpAndLogIn, type TestUser } from '../support/client.js';
import { graphql, graphqlGetUrl, modernAccept } from '../support/graphql.js';
import { isPostgresRequested } from '../support/postgres.js';
import { connectTestRedis, deleteKeysUnder, keysUnder, testRedisUrl, throwawayKeyPrefix } from '../support/redis.js';
import { startServer, type RunningServer } from '../support/server.js';

const feedQuery = `query Feed($first: Int, $after: String) {
  posts(first: $first, after: $after) {
    edges { cursor node { id caption commentCount createdAt author { id username }
      image { id url width height } lastComments { id body createdAt author { username } } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** Headers that differ between any two answers: the time, the debug SQL count, the request's own id. */
const perRequestHeaders = new Set(['date', 'x-query-count', 'x-request-id']);

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** SQL statements the server ran for it (IMAGEGRAM_DEBUG_QUERY_COUNT). */
  queries: number;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { headers });
  const all = Object.fromEntries(response.headers);
  const stable = Object.fromEntries(Object.entries(all).filter(([name]) => !perRequestHeaders.has(name)));
  return { status: response.status, body: await response.text(), headers: stable, queries: Number(all['x-query-count']) };
}

// Probe once: null means unreachable and not required (TEST_REDIS_URL unset), so skip.
const redisUrl = await testRedisUrl();

function feedCacheSuite(name: string, options: { redis: boolean }): void {
  describe(`GraphQL feed queries from the page cache (${name})`, { skip: options.redis && redisUrl === null && 'Redis not reachable' }, () => {
    const prefix = throwawayKeyPrefix();
    let server: RunningServer;
    let alice: TestUser;
    let redis: Redis | undefined;
    let postId: string;
    let restHitQueries: number;

    before(async () => {
      // The longest the version may be remembered: a hit runs no SQL however slow the machine is.
      const env: Record<string, string> = {
        IMAGEGRAM_DEBUG_QUERY_COUNT: '1',
        FEED_VERSION_MAX_AGE_MS: '60000',
        // No background jobs: the statement counts below are the feed requests' alone, with no
        // job's write landing in between (news to the version check, which may then read once).
        RUN_WORKER: 'off',
        ...(options.redis ? { REDIS_URL: redisUrl!, REDIS_KEY_PREFIX: prefix } : {}),
      };
      server = await startServer({ env });
      if (options.redis) redis = await connectTestRedis(redisUrl!);
      alice = await signUpAndLogIn(server.baseUrl, 'alice');
      for (let i = 0; i < 3; i++) {
        const response = await createPost(server.baseUrl, alice, await distinctPng(7300 + i), `post ${i}`);
        assert.equal(response.status, 201);
        postId = ((await response.json()) as { id: string }).id;
      }
      assert.equal((await addComment(server.baseUrl, alice, postId, 'first!')).status, 201);
      // What a REST feed hit costs: the yardstick for a GraphQL hit.
      await get(`${server.baseUrl}/posts?limit=5`);
      restHitQueries = (await get(`${server.baseUrl}/posts?limit=5`)).queries;
    });
    after(async () => {
      await server?.cleanup();
      if (redis) {
        await deleteKeysUnder(redis, prefix);
        redis.disconnect();
      }
    });

    test('a hit is byte-identical to the miss before it, with the same headers, and runs no SQL', async () => {
      for (const accept of [undefined, modernAccept]) {
        const headers: Record<string, string> = accept ? { accept } : {};
        const url = graphqlGetUrl(server.baseUrl, feedQuery, { first: 2 });
        const miss = await get(url, headers);
        const hit = await get(url, headers);
        assert.equal(miss.status, 200, miss.body);
        assert.ok(!miss.body.includes('"errors"'), miss.body);
        assert.equal(hit.body, miss.body);
        assert.deepEqual(hit.headers, miss.headers);
        assert.equal(hit.headers['content-type'], `${accept ? 'application/graphql-response+json' : 'application/json'}; charset=utf-8`);
        assert.equal(hit.headers['cache-control'], 'public, max-age=5');
        assert.ok(hit.headers.etag);
        assert.ok(miss.queries >= 1, `a miss executes (${miss.queries} statements)`);
        assert.equal(hit.queries, 0, 'the feed version is remembered, the answer cached');
        assert.equal(hit.queries, restHitQueries, 'as for a REST feed hit');
        const notModified = await get(url, { ...headers, 'if-none-match': hit.headers.etag! });
        assert.equal(notModified.status, 304);
        assert.equal(notModified.queries, 0);
      }
      // The same URL again in the first type: each type keeps its own answer.
      const again = await get(graphqlGetUrl(server.baseUrl, feedQuery, { first: 2 }));
      assert.equal(again.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(again.queries, 0);
    });

    test('exact: a new comment or post changes the next answer', async () => {
      const url = graphqlGetUrl(server.baseUrl, feedQuery, { first: 3 });
      const before = await get(url);
      assert.equal((await get(url)).queries, 0, 'cached');
      assert.equal((await addComment(server.baseUrl, alice, postId, 'fresh comment')).status, 201);
      const afterComment = await get(url);
      assert.ok(afterComment.queries >= 1, 'the write made it a miss');
      assert.notEqual(afterComment.body, before.body);
      assert.ok(afterComment.body.includes('fresh comment'));
      assert.equal((await get(url)).body, afterComment.body);

      const created = await createPost(server.baseUrl, alice, await distinctPng(7310), 'brand new post');
      assert.equal(created.status, 201);
      const afterPost = await get(graphqlGetUrl(server.baseUrl, feedQuery, { first: 10 }));
      assert.ok(afterPost.body.includes('brand new post'));
    });

    test('an answer no comment touched is kept at the next version; every answer is what a fresh execution gives', async () => {
      // Two pages in one document: the top 2, and the 2 after the top 1.
      const twoPages = `query TwoPages($after: String) {
        top: posts(first: 2) { edges { node { id commentCount lastComments { body } } } pageInfo { hasNextPage } }
        next: posts(first: 2, after: $after) { edges { node { id commentCount comments(first: 3) { edges { node { body } } } } } }
      }`;
      const fresh = (variables: Record<string, unknown>) => graphql(server.baseUrl, twoPages, variables);
      for (let i = 0; i < 3; i++) assert.equal((await createPost(server.baseUrl, alice, await distinctPng(7320 + i), `more ${i}`)).status, 201);
      const feed = await graphql<{ posts: { edges: { node: { id: string } }[] } }>(server.baseUrl, feedQuery, { first: 100 });
      const ids = feed.body.data!.posts.edges.map((edge) => edge.node.id);
      // The first three places all at 2 comments; the oldest post, at 0, is on neither page.
      for (const id of ids.slice(1, 3)) for (const n of [1, 2]) assert.equal((await addComment(server.baseUrl, alice, id, `pair ${n}`)).status, 201);
      const last = ids.at(-1)!;
      const top = await graphql<{ posts: { pageInfo: { endCursor: string } } }>(server.baseUrl, feedQuery, { first: 1 });
      const variables = { after: top.body.data!.posts.pageInfo.endCursor };
      const url = graphqlGetUrl(server.baseUrl, twoPages, variables);
      await get(url);
      // One comment takes it to 1: still below both pages, so the answer is kept.
      assert.equal((await addComment(server.baseUrl, alice, last, 'far below')).status, 201);
      const kept = await get(url);
      // Only the embedded store knows its comments' moves; on PostgreSQL the answer runs again.
      if (!isPostgresRequested()) assert.ok(kept.queries <= 1, `reused, not executed again: ${kept.queries} statements (the version read at most)`);
      assert.deepEqual(JSON.parse(kept.body), (await fresh(variables)).body);
      // Then it climbs into the pages, comment by comment: every answer as a fresh execution's.
      for (let n = 0; n < 4; n++) {
        assert.equal((await addComment(server.baseUrl, alice, last, `climbing ${n}`)).status, 201);
        assert.deepEqual(JSON.parse((await get(url)).body), (await fresh(variables)).body, `after comment ${n}`);
      }
    });

    test('layout, comments and undeclared variables share an entry; other variables and operation names do not', async () => {
      const query = '{ posts(first: 1) { edges { node { id } } } }';
      const first = await get(graphqlGetUrl(server.baseUrl, query));
      const respaced = await get(graphqlGetUrl(server.baseUrl, `# same\n${query.replaceAll(' ', '\n  ')}`, { unused: 1 }));
      assert.equal(respaced.queries, 0);
      assert.equal(respaced.body, first.body);
      const other = await get(graphqlGetUrl(server.baseUrl, feedQuery, { first: 1, after: null }));
      assert.ok(other.queries >= 1);
      const named = await get(`${graphqlGetUrl(server.baseUrl, feedQuery, { first: 1, after: null })}&operationName=Feed`);
      assert.ok(named.queries >= 1, 'naming the operation is another request');
      assert.equal(named.body, other.body);
    });

    test('never from the cache: POSTs, signed-in requests, cookies, and queries with me', async () => {
      // Each post's comments page is a statement of its own on either database, so an executed
      // request always runs more than one statement (on PostgreSQL the rest of a feed page is
      // one), where a hit runs none.
      const executedQuery = feedQuery.replace('lastComments {', 'comments(first: 1) { edges { node { id } } } lastComments {');
      const url = graphqlGetUrl(server.baseUrl, executedQuery, { first: 2 });
      await get(url);
      assert.equal((await get(url)).queries, 0);
      for (const headers of [alice.headers, { cookie: 'session=x' }, { 'x-access-token': 'nope' }]) {
        const answer = await get(url, headers as Record<string, string>);
        assert.equal(answer.status, 200);
        assert.ok(answer.queries > 1, `executed with ${Object.keys(headers).join()}`);
      }
      const signedIn = await get(url, alice.headers as Record<string, string>);
      assert.equal(signedIn.headers['cache-control'], 'private, no-store');

      const posted = async () => {
        const response = await fetch(`${server.baseUrl}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: executedQuery, variables: { first: 2 } }),
        });
        assert.equal(response.status, 200);
        return Number(response.headers.get('x-query-count'));
      };
      assert.ok((await posted()) > 1);
      assert.ok((await posted()) > 1);

      const withMe = graphqlGetUrl(server.baseUrl, '{ me { id } posts(first: 2) { edges { node { id comments(first: 1) { edges { node { id } } } } } } }');
      for (let i = 0; i < 2; i++) {
        const answer = await get(withMe);
        assert.ok(answer.body.includes('"me":null'));
        assert.ok(answer.queries > 1, 'a query with me executes every time');
      }
    });

    test('failures are not cached', async () => {
      const url = graphqlGetUrl(server.baseUrl, feedQuery, { first: 0 });
      const first = await get(url);
      const second = await get(url);
      assert.ok(first.body.includes('"errors"'), first.body);
      assert.equal(second.body, first.body);
      assert.equal(second.headers['cache-control'], 'no-store');
      assert.equal(second.headers.etag, undefined);
    });

    test('persisted queries: a hash-only GET and a registering GET are served from the cache, and registration still counts', async () => {
      const query = '{ posts(first: 2) { edges { node { caption } } } }';
      const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') };
      const byHash = graphqlGetUrl(server.baseUrl, null, undefined, { persistedQuery });
      assert.match((await get(byHash)).body, /PERSISTED_QUERY_NOT_FOUND/);
      const plain = await get(graphqlGetUrl(server.baseUrl, query));
      const registering = await get(graphqlGetUrl(server.baseUrl, query, undefined, { persistedQuery }));
      assert.equal(registering.queries, 0, 'the registration was a hit');
      assert.equal(registering.body, plain.body);
      const hashOnly = await get(byHash);
      assert.equal(hashOnly.status, 200);
      assert.equal(hashOnly.queries, 0);
      assert.equal(hashOnly.body, plain.body);
      const mismatch = await get(graphqlGetUrl(server.baseUrl, `${query} `, undefined, { persistedQuery }));
      assert.match(mismatch.body, /provided sha does not match query/);
    });

    test('concurrent misses for one key share one execution', async () => {
      const oneMiss = (await get(graphqlGetUrl(server.baseUrl, feedQuery, { first: 5 }))).queries;
      const answers = await Promise.all(Array.from({ length: 8 }, () => get(graphqlGetUrl(server.baseUrl, feedQuery, { first: 4 }))));
      assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
      assert.equal(new Set(answers.map((a) => a.body)).size, 1);
      // One execution; the others joined it or hit what it stored.
      assert.ok(answers.reduce((sum, a) => sum + a.queries, 0) <= oneMiss + 7, answers.map((a) => a.queries).join());
      // A failed execution is not shared: the requests waiting on it run and answer on their own.
      const failures = await Promise.all(Array.from({ length: 8 }, () => get(graphqlGetUrl(server.baseUrl, feedQuery, { first: 1000 }))));
      assert.equal(new Set(failures.map((a) => a.body)).size, 1);
      assert.match(failures[0]!.body, /"errors"/);
    });

    if (options.redis) {
      test('entries live in Redis under the page prefix: the ETag, then the body as sent', async () => {
        const url = graphqlGetUrl(server.baseUrl, feedQuery, { first: 1 });
        const sent = await get(url);
        const keys = await keysUnder(redis!, `${prefix}page:graphql-feed:`);
        const entries = await Promise.all(keys.map((key) => redis!.get(key)));
        assert.ok(entries.includes(`${sent.headers.etag}\n${sent.body}`), 'the answer is stored whole');
        assert.ok((await redis!.pttl(keys[0]!)) > 0, 'entries expire');
      });
    }
  });
}

feedCacheSuite('SQLite, in-process cache', { redis: false });
feedCacheSuite('SQLite, Redis cache', { redis: true });
