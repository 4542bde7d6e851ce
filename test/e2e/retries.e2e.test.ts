import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { addComment, createPost, distinctPng, postJson, problemOf, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';

interface PostJson {
  id: string;
  commentCount: number;
}

async function countComments(baseUrl: string, postId: string): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page = (await (await fetch(`${baseUrl}/posts/${postId}/comments?limit=100${query}`)).json()) as { comments: unknown[]; nextCursor: string | null };
    count += page.comments.length;
    cursor = page.nextCursor;
  } while (cursor);
  return count;
}

describe('retries on flaky networks: Idempotency-Key, and counts under concurrent writes', () => {
  let server: RunningServer;
  let alice: TestUser;
  let bob: TestUser;
  let seed = 5000;

  before(async () => {
    server = await startServer();
    [alice, bob] = await Promise.all([signUpAndLogIn(server.baseUrl, 'alice'), signUpAndLogIn(server.baseUrl, 'bob')]);
  });
  after(() => server.cleanup());

  test('a retried multipart POST /posts with the same key replays the first response and creates nothing', async () => {
    const key = randomUUID();
    const image = await distinctPng(seed++);
    const first = await createPost(server.baseUrl, alice, image, 'once', { 'idempotency-key': key });
    assert.equal(first.status, 201);
    const retry = await createPost(server.baseUrl, alice, image, 'once', { 'idempotency-key': `"${key}"` });
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await retry.json(), await first.json());
    const feed = (await (await fetch(`${server.baseUrl}/posts?limit=100`)).json()) as { posts: { caption: string }[] };
    assert.equal(feed.posts.filter((p) => p.caption === 'once').length, 1);

    const different = await createPost(server.baseUrl, alice, image, 'another caption', { 'idempotency-key': key });
    assert.equal(different.status, 422);
    assert.equal((await problemOf(different)).code, 'IDEMPOTENCY_KEY_REUSED');
  });

  test('keys are scoped to the user: the same key from another user is a different request', async () => {
    const key = randomUUID();
    const image = (await (await uploadImage(server.baseUrl, alice, await distinctPng(seed++), 'a.png', 'image/png')).json()) as { id: string };
    const bobsImage = (await (await uploadImage(server.baseUrl, bob, await distinctPng(seed++), 'b.png', 'image/png')).json()) as { id: string };
    const a = await postJson(server.baseUrl, '/posts', { caption: 'same key', imageId: image.id }, { ...alice.headers, 'idempotency-key': key });
    const b = await postJson(server.baseUrl, '/posts', { caption: 'same key', imageId: bobsImage.id }, { ...bob.headers, 'idempotency-key': key });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.notEqual(((await a.json()) as PostJson).id, ((await b.json()) as PostJson).id);
  });

  test('ten concurrent retries of one comment create exactly one; the others replay it or get 409', async () => {
    const post = (await (await createPost(server.baseUrl, alice, await distinctPng(seed++), 'retry target')).json()) as PostJson;
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 10 }, () => addComment(server.baseUrl, bob, post.id, 'only once', { 'idempotency-key': key })));
    const statuses = responses.map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 201 || s === 409),
      `statuses ${statuses}`,
    );
    const ids = new Set<string>();
    for (const response of responses) if (response.status === 201) ids.add(((await response.json()) as { id: string }).id);
    assert.equal(ids.size, 1);
    const replay = await addComment(server.baseUrl, bob, post.id, 'only once', { 'idempotency-key': key });
    assert.equal(replay.status, 201);
    assert.equal(((await replay.json()) as { id: string }).id, [...ids][0]);
    assert.equal(await countComments(server.baseUrl, post.id), 1);
    assert.equal(((await (await fetch(`${server.baseUrl}/posts/${post.id}`)).json()) as PostJson).commentCount, 1);
  });

  test('a malformed Idempotency-Key is a 400', async () => {
    const post = (await (await createPost(server.baseUrl, alice, await distinctPng(seed++), 'x')).json()) as PostJson;
    for (const key of ['', 'k'.repeat(300)]) {
      const response = await addComment(server.baseUrl, bob, post.id, 'hi', { 'idempotency-key': key });
      assert.equal(response.status, 400, JSON.stringify(key));
      assert.equal((await problemOf(response)).code, 'INVALID_IDEMPOTENCY_KEY');
    }
  });

  test('a storm of parallel comment adds and deletes leaves commentCount equal to the real count', async () => {
    const post = (await (await createPost(server.baseUrl, alice, await distinctPng(seed++), 'storm')).json()) as PostJson;
    const created: string[] = [];
    for (let i = 0; i < 20; i += 1) created.push(((await (await addComment(server.baseUrl, bob, post.id, `seed ${i}`)).json()) as { id: string }).id);
    const deletions = created
      .flatMap((id) => [id, id])
      .map((id) => fetch(`${server.baseUrl}/posts/${post.id}/comments/${id}`, { method: 'DELETE', headers: bob.headers }));
    const additions = Array.from({ length: 60 }, (_, i) => addComment(server.baseUrl, i % 2 ? alice : bob, post.id, `storm ${i}`));
    const results = await Promise.all([...deletions, ...additions]);
    const deleteStatuses = results
      .slice(0, deletions.length)
      .map((r) => r.status)
      .sort();
    assert.equal(deleteStatuses.filter((s) => s === 204).length, 20, 'each comment deleted exactly once');
    assert.equal(deleteStatuses.filter((s) => s === 404).length, 20);
    assert.ok(results.slice(deletions.length).every((r) => r.status === 201));
    const real = await countComments(server.baseUrl, post.id);
    assert.equal(real, 60);
    assert.equal(((await (await fetch(`${server.baseUrl}/posts/${post.id}`)).json()) as PostJson).commentCount, real);
  });
});

describe('abuse: rate limits on writes and log-ins', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ env: { RATE_LIMIT_PER_MINUTE: '5', LOGIN_RATE_LIMIT_PER_MINUTE: '3' } });
  });
  after(() => server.cleanup());

  test('writes past the per-user limit get 429 with Retry-After; reads are not limited', async () => {
    const user = await signUpAndLogIn(server.baseUrl, 'limited');
    const post = (await (await createPost(server.baseUrl, user, await distinctPng(9000), 'limits')).json()) as PostJson;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await addComment(server.baseUrl, user, post.id, `c${i}`)).status);
    // The budget is per user and per write endpoint: five comments, then 429.
    assert.deepEqual(statuses, [201, 201, 201, 201, 201, 429]);
    const limited = await addComment(server.baseUrl, user, post.id, 'again');
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.equal((await problemOf(limited)).code, 'RATE_LIMITED');
    for (let i = 0; i < 20; i += 1) assert.equal((await fetch(`${server.baseUrl}/posts`)).status, 200);
    // Another user has a budget of their own.
    const other = await signUpAndLogIn(server.baseUrl, 'other').catch(() => null);
    if (other) assert.equal((await addComment(server.baseUrl, other, post.id, 'mine')).status, 201);
  });

  test('log-in attempts past the per-IP limit get 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await postJson(server.baseUrl, '/sessions', { username: 'nobody', password: 'wrong password' })).status);
    assert.ok(statuses.includes(429), `statuses ${statuses}`);
    assert.equal(statuses.filter((s) => s === 401).length <= 3, true);
  });
});
