import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addComment, createPost, distinctPng, postJson, problemOf, signUpAndLogIn, type TestUser, uploadImage } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';
import { createUpload, patchUpload, uploadOffset } from '../support/tus.js';

type Page<K extends string> = Record<K, Array<Record<string, any>>> & { nextCursor: string | null };

describe('my account over REST: profile, my images and posts, captions, password, deletion', () => {
  let server: RunningServer;
  let seed = 1;
  before(async () => {
    server = await startServer();
  });
  after(() => server.cleanup());

  const get = (path: string, user?: TestUser | null) => fetch(`${server.baseUrl}${path}`, { headers: user ? user.headers : {} });
  const send = (method: string, path: string, body: unknown, user?: TestUser | null) =>
    fetch(`${server.baseUrl}${path}`, { method, headers: { 'content-type': 'application/json', ...(user ? user.headers : {}) }, body: JSON.stringify(body) });
  const post = async (user: TestUser, caption: string) =>
    (await (await createPost(server.baseUrl, user, await distinctPng(seed++), caption)).json()) as Record<string, any>;
  /** Every page of a listing, following nextCursor. */
  async function allPages<K extends 'images' | 'posts'>(path: string, key: K, user: TestUser | null, limit: number): Promise<Array<Record<string, any>>> {
    const items: Array<Record<string, any>> = [];
    for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) {
      const response = await get(`${path}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, user);
      assert.equal(response.status, 200);
      const page = (await response.json()) as Page<K>;
      assert.ok(page[key].length <= limit);
      items.push(...page[key]);
      cursor = page.nextCursor;
    }
    return items;
  }

  test('GET /me: the signed-in user; 401 problem without a valid session', async () => {
    const alice = await signUpAndLogIn(server.baseUrl, 'me');
    const me = await get('/me', alice);
    assert.equal(me.status, 200);
    const body = (await me.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['createdAt', 'id', 'username']);
    assert.equal(body.id, alice.id);
    assert.equal(body.username, alice.username);
    for (const headers of [{}, { authorization: 'Bearer not-a-token' }] as Record<string, string>[]) {
      const refused = await fetch(`${server.baseUrl}/me`, { headers });
      assert.equal(refused.status, 401);
      assert.equal((await problemOf(refused)).code, 'UNAUTHENTICATED');
    }
  });

  test('GET /me/images: only mine, newest first, every one exactly once across pages, shaped like GET /images/{id}', async () => {
    const [alice, bob] = [await signUpAndLogIn(server.baseUrl, 'imgs'), await signUpAndLogIn(server.baseUrl, 'imgs')];
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(((await (await uploadImage(server.baseUrl, alice, await distinctPng(seed++), 'a.png', 'image/png')).json()) as { id: string }).id);
    await uploadImage(server.baseUrl, bob, await distinctPng(seed++), 'b.png', 'image/png');
    const listed = await allPages('/me/images', 'images', alice, 2);
    assert.deepEqual(
      listed.map((image) => image.id),
      [...ids].reverse(),
    );
    const single = (await (await get(`/images/${ids[0]}`, alice)).json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(listed.at(-1)!).sort(), Object.keys(single).sort());
    assert.equal((await get('/me/images', null)).status, 401);
  });

  test("paged listings refuse bad limits, malformed cursors and another listing's cursor with 400", async () => {
    const alice = await signUpAndLogIn(server.baseUrl, 'cur');
    const bob = await signUpAndLogIn(server.baseUrl, 'cur');
    for (let i = 0; i < 2; i++) await post(alice, `p${i}`);
    for (let i = 0; i < 2; i++) await post(bob, `p${i}`);
    const alicesCursor = ((await (await get(`/users/${alice.username}/posts?limit=1`)).json()) as Page<'posts'>).nextCursor!;
    const feedCursor = ((await (await get('/posts?limit=1')).json()) as Page<'posts'>).nextCursor!;
    const cases: Array<[string, TestUser | null, string]> = [
      [`/me/posts?cursor=${encodeURIComponent(alicesCursor)}`, bob, 'INVALID_CURSOR'],
      [`/users/${bob.username}/posts?cursor=${encodeURIComponent(alicesCursor)}`, null, 'INVALID_CURSOR'],
      [`/users/${alice.username}/posts?cursor=${encodeURIComponent(feedCursor)}`, null, 'INVALID_CURSOR'],
      [`/me/images?cursor=${encodeURIComponent(alicesCursor)}`, alice, 'INVALID_CURSOR'],
      [`/me/posts?cursor=${encodeURIComponent(`${alicesCursor.slice(0, -2)}xx`)}`, alice, 'INVALID_CURSOR'],
      ['/me/posts?cursor=garbage', alice, 'INVALID_CURSOR'],
      ['/me/images?limit=0', alice, 'VALIDATION_FAILED'],
      [`/users/${alice.username}/posts?limit=101`, null, 'VALIDATION_FAILED'],
      ['/posts?author=someone', null, 'VALIDATION_FAILED'],
    ];
    for (const [path, user, code] of cases) {
      const response = await get(path, user);
      assert.equal(response.status, 400, path);
      assert.equal((await problemOf(response)).code, code, path);
    }
    // The same cursor continues its own listing, through either route.
    const next = await get(`/me/posts?limit=1&cursor=${encodeURIComponent(alicesCursor)}`, alice);
    assert.equal(next.status, 200);
  });

  test("GET /me/posts and /users/{username}/posts: that user's posts only, newest first whatever their comments; unknown user 404", async () => {
    const [alice, bob] = [await signUpAndLogIn(server.baseUrl, 'posts'), await signUpAndLogIn(server.baseUrl, 'posts')];
    const mine = [];
    for (let i = 0; i < 3; i++) mine.push(await post(alice, `mine ${i}`));
    await post(bob, 'not mine');
    await addComment(server.baseUrl, bob, mine[0]!.id, 'the oldest gets a comment');
    const expected = [...mine].reverse().map((p) => p.id);
    assert.deepEqual(
      (await allPages('/me/posts', 'posts', alice, 2)).map((p) => p.id),
      expected,
    );
    const theirs = await allPages(`/users/${alice.username.toUpperCase()}/posts`, 'posts', null, 2);
    assert.deepEqual(
      theirs.map((p) => p.id),
      expected,
    );
    assert.deepEqual(Object.keys(theirs[0]!).sort(), ['author', 'caption', 'commentCount', 'createdAt', 'id', 'image', 'lastComments']);
    assert.equal(theirs.at(-1)!.commentCount, 1);
    const unknown = await get('/users/nobody-here-at-all/posts');
    assert.equal(unknown.status, 404);
    assert.equal((await problemOf(unknown)).code, 'USER_NOT_FOUND');
  });

  test('PATCH /posts/{id}: the author edits the caption (the feed shows it at once); 403 for others, 404 unknown, 400 too long, 401 anonymous', async () => {
    const [alice, bob] = [await signUpAndLogIn(server.baseUrl, 'edit'), await signUpAndLogIn(server.baseUrl, 'edit')];
    const created = await post(alice, 'before');
    await get('/posts?limit=100'); // fills the feed cache with the old caption
    const edited = await send('PATCH', `/posts/${created.id}`, { caption: 'after ✓' }, alice);
    assert.equal(edited.status, 200);
    assert.deepEqual((await edited.json()) as Record<string, unknown>, { ...created, caption: 'after ✓' });
    const feed = (await (await get('/posts?limit=100')).json()) as Page<'posts'>;
    assert.equal(feed.posts.find((p) => p.id === created.id)?.caption, 'after ✓');
    const refusals: Array<[string, unknown, TestUser | null, number, string]> = [
      [`/posts/${created.id}`, { caption: 'hijack' }, bob, 403, 'NOT_OWNER'],
      ['/posts/00000000-0000-7000-8000-000000000000', { caption: 'x' }, alice, 404, 'POST_NOT_FOUND'],
      [`/posts/${created.id}`, { caption: 'x'.repeat(2_201) }, alice, 400, 'VALIDATION_FAILED'],
      [`/posts/${created.id}`, { text: 'no caption' }, alice, 400, 'VALIDATION_FAILED'],
      [`/posts/${created.id}`, { caption: 'x' }, null, 401, 'UNAUTHENTICATED'],
    ];
    for (const [path, body, user, status, code] of refusals) {
      const response = await send('PATCH', path, body, user);
      assert.equal(response.status, status, JSON.stringify(body));
      assert.equal((await problemOf(response)).code, code);
    }
    assert.equal(((await (await get(`/posts/${created.id}`)).json()) as Record<string, unknown>).caption, 'after ✓');
  });

  test('PUT /me/password: wrong current password 403 and nothing changes; then 204, other sessions revoked, this one kept, only the new password logs in', async () => {
    const alice = await signUpAndLogIn(server.baseUrl, 'pw');
    const other = (await (await postJson(server.baseUrl, '/sessions', { username: alice.username, password: alice.password })).json()) as { token: string };
    const otherHeaders = { authorization: `Bearer ${other.token}` };
    const wrong = await send('PUT', '/me/password', { currentPassword: 'not my password', newPassword: 'a brand new password' }, alice);
    assert.equal(wrong.status, 403);
    assert.equal((await problemOf(wrong)).code, 'WRONG_PASSWORD');
    assert.equal((await fetch(`${server.baseUrl}/me`, { headers: otherHeaders })).status, 200);
    const short = await send('PUT', '/me/password', { currentPassword: alice.password, newPassword: 'short' }, alice);
    assert.equal(short.status, 400);
    assert.equal((await send('PUT', '/me/password', { currentPassword: alice.password, newPassword: 'a brand new password' }, null)).status, 401);

    const changed = await send('PUT', '/me/password', { currentPassword: alice.password, newPassword: 'a brand new password' }, alice);
    assert.equal(changed.status, 204);
    const revoked = await fetch(`${server.baseUrl}/me`, { headers: otherHeaders });
    assert.equal(revoked.status, 401);
    assert.equal((await problemOf(revoked)).code, 'UNAUTHENTICATED');
    assert.equal((await get('/me', alice)).status, 200);
    assert.equal((await postJson(server.baseUrl, '/sessions', { username: alice.username, password: alice.password })).status, 401);
    assert.equal((await postJson(server.baseUrl, '/sessions', { username: alice.username, password: 'a brand new password' })).status, 201);
  });

  test("DELETE /me: wrong password 403 and nothing goes; then the account's session, posts, comments, images and name go; others' posts lose its comments", async () => {
    const [alice, bob] = [await signUpAndLogIn(server.baseUrl, 'del'), await signUpAndLogIn(server.baseUrl, 'del')];
    const alicesPost = await post(alice, 'goes away');
    const bobsPost = await post(bob, 'stays');
    const spare = ((await (await uploadImage(server.baseUrl, alice, await distinctPng(seed++), 'a.png', 'image/png')).json()) as { id: string }).id;
    await addComment(server.baseUrl, alice, bobsPost.id, 'mine, on his post');
    await addComment(server.baseUrl, bob, alicesPost.id, 'his, on my post');

    const wrong = await send('DELETE', '/me', { password: 'not my password' }, alice);
    assert.equal(wrong.status, 403);
    assert.equal((await problemOf(wrong)).code, 'WRONG_PASSWORD');
    assert.equal((await send('DELETE', '/me', {}, alice)).status, 400);
    assert.equal((await send('DELETE', '/me', { password: alice.password }, null)).status, 401);
    assert.equal((await get(`/posts/${alicesPost.id}`)).status, 200);

    assert.equal((await send('DELETE', '/me', { password: alice.password }, alice)).status, 204);
    assert.equal((await get('/me', alice)).status, 401);
    assert.equal((await postJson(server.baseUrl, '/sessions', { username: alice.username, password: alice.password })).status, 401);
    assert.equal((await get(`/posts/${alicesPost.id}`)).status, 404);
    assert.equal((await get(`/images/${spare}`)).status, 404);
    assert.equal((await get(`/images/${alicesPost.image.id}.jpg`)).status, 404);
    assert.equal((await get(`/users/${alice.username}/posts`)).status, 404);
    const remaining = (await (await get(`/posts/${bobsPost.id}`)).json()) as Record<string, any>;
    assert.equal(remaining.commentCount, 0);
    assert.deepEqual(remaining.lastComments, []);
    const feed = (await (await get('/posts?limit=100')).json()) as Page<'posts'>;
    assert.equal(
      feed.posts.some((p) => p.author.id === alice.id),
      false,
    );
    // The name is free again.
    assert.equal((await postJson(server.baseUrl, '/users', { username: alice.username, password: 'another long password' })).status, 201);
    assert.equal((await get('/me', bob)).status, 200);
  });

  test('tus with the session of a deleted account: creating, resuming and probing an upload are 401 problems, never 5xx', async () => {
    const carol = await signUpAndLogIn(server.baseUrl, 'del');
    const bytes = await distinctPng(seed++);
    const created = await createUpload(server.baseUrl, carol.headers, bytes.length);
    assert.equal(created.status, 201);
    const url = new URL(created.headers.get('location')!, server.baseUrl).href;
    assert.equal((await patchUpload(url, carol.headers, 0, bytes.subarray(0, 10))).status, 204);
    assert.equal((await send('DELETE', '/me', { password: carol.password }, carol)).status, 204);

    const refusals = [
      await createUpload(server.baseUrl, carol.headers, bytes.length),
      await patchUpload(url, carol.headers, 10, bytes.subarray(10)),
      await fetch(url, { method: 'DELETE', headers: { ...carol.headers, 'tus-resumable': '1.0.0' } }),
    ];
    for (const refused of refusals) {
      assert.equal(refused.status, 401, await refused.clone().text());
      assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal((await problemOf(refused)).code, 'UNAUTHENTICATED');
    }
    assert.equal((await uploadOffset(url, carol.headers)).status, 401);
  });
});
