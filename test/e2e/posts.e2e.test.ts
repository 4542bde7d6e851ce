import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { addComment, createPost, distinctPng, postJson, problemOf, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';

interface PostJson {
  id: string;
  caption: string;
  author: { id: string; username: string };
  commentCount: number;
  image: { id: string; url: string; width: number; height: number };
  lastComments: { id: string; body: string; author: { username: string } }[];
}

describe('posts and comments: the user stories', () => {
  let server: RunningServer;
  let alice: TestUser;
  let bob: TestUser;
  let seed = 1;
  const png = () => distinctPng(seed++);

  before(async () => {
    server = await startServer();
    [alice, bob] = await Promise.all([signUpAndLogIn(server.baseUrl, 'alice'), signUpAndLogIn(server.baseUrl, 'bob')]);
  });
  after(() => server.cleanup());

  async function newPost(user: TestUser, caption = 'a caption'): Promise<PostJson> {
    const response = await createPost(server.baseUrl, user, await png(), caption);
    assert.equal(response.status, 201, await response.clone().text());
    return (await response.json()) as PostJson;
  }

  test('create a post from a multipart image + caption: 201 and its JPEG is already servable', async () => {
    const post = await newPost(alice, 'Sunset 🌅 over the bay');
    assert.equal(post.caption, 'Sunset 🌅 over the bay');
    assert.equal(post.author.username, alice.username);
    assert.equal(post.commentCount, 0);
    assert.deepEqual(post.lastComments, []);
    const jpeg = await fetch(`${server.baseUrl}${post.image.url}`);
    assert.equal(jpeg.status, 200);
    const meta = await sharp(Buffer.from(await jpeg.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 600, 600]);
  });

  test('create a post as JSON {caption, imageId} for an image I uploaded', async () => {
    const image = (await (await uploadImage(server.baseUrl, alice, await png(), 'x.png', 'image/png')).json()) as { id: string };
    const response = await postJson(server.baseUrl, '/posts', { caption: '', imageId: image.id }, alice.headers);
    assert.equal(response.status, 201);
    assert.equal(((await response.json()) as PostJson).image.id, image.id);
    const foreign = await postJson(server.baseUrl, '/posts', { caption: 'mine now', imageId: image.id }, bob.headers);
    assert.equal(foreign.status, 403);
    const unknown = await postJson(server.baseUrl, '/posts', { caption: 'x', imageId: 'no-such-image' }, alice.headers);
    assert.equal(unknown.status, 404);
    // An image a post shows cannot be deleted from under it.
    const inUse = await fetch(`${server.baseUrl}/images/${image.id}`, { method: 'DELETE', headers: alice.headers });
    assert.equal(inUse.status, 409);
    assert.equal((await problemOf(inUse)).code, 'IMAGE_IN_USE');
  });

  test('captions: 2,200 characters (emoji count as one) are fine, 2,201 are a 400', async () => {
    const ok = await createPost(server.baseUrl, alice, await png(), '📷'.repeat(2_200));
    assert.equal(ok.status, 201);
    const tooLong = await createPost(server.baseUrl, alice, await png(), 'x'.repeat(2_201));
    assert.equal(tooLong.status, 400);
    assert.equal((await problemOf(tooLong)).code, 'VALIDATION_FAILED');
  });

  test('an invalid image creates no post and leaves no image, row or file', async () => {
    const user = await signUpAndLogIn(server.baseUrl, 'carol');
    const blobsBefore = (await readdir(join(server.dataDir, 'blobs'), { recursive: true })).length;
    const feedBefore = await (await fetch(`${server.baseUrl}/posts?limit=100`)).text();
    for (const [bytes, status] of [
      [Buffer.from('plain text, not an image'), 415],
      [(await png()).subarray(0, 40), 422],
    ] as const) {
      const response = await createPost(server.baseUrl, user, bytes, 'nope');
      assert.equal(response.status, status);
    }
    const bad = await createPost(server.baseUrl, user, await png(), 'y'.repeat(3_000));
    assert.equal(bad.status, 400);
    assert.equal((await readdir(join(server.dataDir, 'blobs'), { recursive: true })).length, blobsBefore);
    assert.equal(await (await fetch(`${server.baseUrl}/posts?limit=100`)).text(), feedBefore);
    const staging = await readdir(join(server.dataDir, 'staging')).catch(() => []);
    assert.deepEqual(staging, []);
  });

  test('comment on a post: 201; blank, oversize, unknown post and anonymous are refused', async () => {
    const post = await newPost(alice);
    const response = await addComment(server.baseUrl, bob, post.id, 'Lovely!');
    assert.equal(response.status, 201);
    const comment = (await response.json()) as { id: string; body: string; postId: string; author: { username: string } };
    assert.deepEqual([comment.body, comment.postId, comment.author.username], ['Lovely!', post.id, bob.username]);
    for (const [body, status] of [
      ['', 400],
      ['   ', 400],
      ['z'.repeat(1_001), 400],
    ] as const) {
      assert.equal((await addComment(server.baseUrl, bob, post.id, body)).status, status);
    }
    assert.equal((await addComment(server.baseUrl, bob, post.id, 'c'.repeat(1_000))).status, 201);
    const unknown = await addComment(server.baseUrl, bob, 'no-such-post', 'hello');
    assert.equal(unknown.status, 404);
    assert.equal((await problemOf(unknown)).code, 'POST_NOT_FOUND');
    const anonymous = await postJson(server.baseUrl, `/posts/${post.id}/comments`, { body: 'hi' });
    assert.equal(anonymous.status, 401);
  });

  test("delete my comment: 204; someone else's 403 and nothing changes; absent, repeated or under another post 404", async () => {
    const post = await newPost(alice);
    const other = await newPost(alice);
    const mine = (await (await addComment(server.baseUrl, bob, post.id, 'mine')).json()) as { id: string };
    const theirs = (await (await addComment(server.baseUrl, alice, post.id, 'theirs')).json()) as { id: string };
    const url = (postId: string, commentId: string) => `${server.baseUrl}/posts/${postId}/comments/${commentId}`;

    const forbidden = await fetch(url(post.id, theirs.id), { method: 'DELETE', headers: bob.headers });
    assert.equal(forbidden.status, 403);
    assert.equal(((await (await fetch(`${server.baseUrl}/posts/${post.id}`)).json()) as PostJson).commentCount, 2);

    assert.equal((await fetch(url(other.id, mine.id), { method: 'DELETE', headers: bob.headers })).status, 404);
    assert.equal((await fetch(url(post.id, mine.id), { method: 'DELETE', headers: bob.headers })).status, 204);
    const again = await fetch(url(post.id, mine.id), { method: 'DELETE', headers: bob.headers });
    assert.equal(again.status, 404);
    assert.equal((await problemOf(again)).code, 'COMMENT_NOT_FOUND');
    assert.equal((await fetch(url(post.id, 'never-existed'), { method: 'DELETE', headers: bob.headers })).status, 404);
    const after = (await (await fetch(`${server.baseUrl}/posts/${post.id}`)).json()) as PostJson;
    assert.equal(after.commentCount, 1);
    assert.deepEqual(
      after.lastComments.map((c) => c.body),
      ['theirs'],
    );
  });

  test("delete my post: 204 and its comments go with it; someone else's 403", async () => {
    const post = await newPost(alice);
    await addComment(server.baseUrl, bob, post.id, 'first!');
    assert.equal((await fetch(`${server.baseUrl}/posts/${post.id}`, { method: 'DELETE', headers: bob.headers })).status, 403);
    assert.equal((await fetch(`${server.baseUrl}/posts/${post.id}`, { method: 'DELETE', headers: alice.headers })).status, 204);
    assert.equal((await fetch(`${server.baseUrl}/posts/${post.id}`)).status, 404);
    assert.equal((await fetch(`${server.baseUrl}/posts/${post.id}/comments`)).status, 404);
    assert.equal((await fetch(`${server.baseUrl}/posts/${post.id}`, { method: 'DELETE', headers: alice.headers })).status, 404);
  });

  test('GET /posts/{id}/comments lists all comments newest first, in pages', async () => {
    const post = await newPost(alice);
    for (let i = 0; i < 7; i += 1) assert.equal((await addComment(server.baseUrl, bob, post.id, `comment ${i}`)).status, 201);
    const bodies: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=3&cursor=${encodeURIComponent(cursor)}` : '?limit=3';
      const page = (await (await fetch(`${server.baseUrl}/posts/${post.id}/comments${query}`)).json()) as {
        comments: { body: string }[];
        nextCursor: string | null;
      };
      bodies.push(...page.comments.map((c) => c.body));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(
      bodies,
      [6, 5, 4, 3, 2, 1, 0].map((i) => `comment ${i}`),
    );
    const single = (await (await fetch(`${server.baseUrl}/posts/${post.id}`)).json()) as PostJson;
    assert.deepEqual(
      single.lastComments.map((c) => c.body),
      ['comment 6', 'comment 5'],
    );
  });
});
