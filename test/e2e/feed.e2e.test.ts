import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addComment, createPost, distinctPng, problemOf, signUpAndLogIn, type TestUser } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';

interface FeedPost {
  id: string;
  caption: string;
  commentCount: number;
  author: { id: string; username: string };
  image: { id: string; url: string; width: number; height: number };
  lastComments: { id: string; body: string; author: { id: string; username: string }; createdAt: string }[];
}
interface FeedPage {
  posts: FeedPost[];
  nextCursor: string | null;
}

describe('the feed: posts by comment count, newest first, with their last 2 comments', () => {
  let server: RunningServer;
  let alice: TestUser;
  let bob: TestUser;
  /** Post ids by caption, with the comments each got. */
  const posts = new Map<string, string>();

  before(async () => {
    server = await startServer();
    [alice, bob] = await Promise.all([signUpAndLogIn(server.baseUrl, 'alice'), signUpAndLogIn(server.baseUrl, 'bob')]);
    // Created in this order; comment counts: p0 0, p1 3, p2 1, p3 3, p4 0, p5 2.
    const counts = [0, 3, 1, 3, 0, 2];
    for (const [i, count] of counts.entries()) {
      const response = await createPost(server.baseUrl, i % 2 ? bob : alice, await distinctPng(1000 + i), `p${i}`);
      assert.equal(response.status, 201);
      const { id } = (await response.json()) as { id: string };
      posts.set(`p${i}`, id);
      for (let c = 0; c < count; c += 1) assert.equal((await addComment(server.baseUrl, c % 2 ? alice : bob, id, `p${i} comment ${c}`)).status, 201);
    }
  });
  after(() => server.cleanup());

  async function page(query: string): Promise<FeedPage> {
    const response = await fetch(`${server.baseUrl}/posts${query}`);
    assert.equal(response.status, 200);
    return (await response.json()) as FeedPage;
  }

  test('order: commentCount desc, ties newest first; each post carries the fields the client needs', async () => {
    const feed = await page('');
    assert.deepEqual(
      feed.posts.map((p) => p.caption),
      ['p3', 'p1', 'p5', 'p2', 'p4', 'p0'],
    );
    assert.equal(feed.nextCursor, null);
    const p3 = feed.posts[0]!;
    assert.equal(p3.commentCount, 3);
    assert.equal(p3.author.username, bob.username);
    assert.equal(p3.image.url, `/images/${p3.image.id}.jpg`);
    assert.deepEqual([p3.image.width, p3.image.height], [48, 32]);
    assert.deepEqual(
      p3.lastComments.map((c) => c.body),
      ['p3 comment 2', 'p3 comment 1'],
    );
    assert.equal(p3.lastComments[0]!.author.username, bob.username);
    assert.deepEqual(
      feed.posts.find((p) => p.caption === 'p2')!.lastComments.map((c) => c.body),
      ['p2 comment 0'],
    );
    assert.deepEqual(feed.posts.find((p) => p.caption === 'p0')!.lastComments, []);
  });

  test('pages of `limit` concatenate to the whole feed; the last page has nextCursor null', async () => {
    const captions: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const current: FeedPage = await page(`?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      captions.push(...current.posts.map((p) => p.caption));
      cursor = current.nextCursor;
      pages += 1;
    } while (cursor);
    assert.equal(pages, 2);
    assert.deepEqual(captions, ['p3', 'p1', 'p5', 'p2', 'p4', 'p0']);
  });

  test('a new comment is visible at once (the page cache never serves a stale count)', async () => {
    const before = await page('?limit=3');
    const p5 = posts.get('p5')!;
    await addComment(server.baseUrl, alice, p5, 'p5 new');
    await addComment(server.baseUrl, alice, p5, 'p5 newer');
    const afterwards = await page('?limit=3');
    assert.notDeepEqual(afterwards, before);
    assert.deepEqual(
      afterwards.posts.map((p) => [p.caption, p.commentCount]),
      [
        ['p5', 4],
        ['p3', 3],
        ['p1', 3],
      ],
    );
    assert.deepEqual(
      afterwards.posts[0]!.lastComments.map((c) => c.body),
      ['p5 newer', 'p5 new'],
    );
  });

  test('limit outside 1–100 or not a number is a 400', async () => {
    for (const limit of ['0', '101', 'abc', '-1', '2.5']) {
      const response = await fetch(`${server.baseUrl}/posts?limit=${limit}`);
      assert.equal(response.status, 400, `limit=${limit}`);
      assert.equal((await problemOf(response)).code, 'VALIDATION_FAILED');
    }
    assert.equal((await page('?limit=100')).posts.length, 6);
  });

  test('a malformed or tampered cursor is a 400, never a 500 or a silent jump', async () => {
    const { nextCursor } = await page('?limit=2');
    assert.ok(nextCursor);
    const [payload, signature] = nextCursor.split('.');
    const forged = Buffer.from(JSON.stringify(['feed', [0, 'zzzz']])).toString('base64url');
    for (const cursor of [
      'garbage',
      `${payload}`,
      `${payload}.AAAA${signature!.slice(4)}`,
      `${forged}.${signature}`,
      '.',
      `${payload}.${signature}.x`,
      '%00',
    ]) {
      const response = await fetch(`${server.baseUrl}/posts?cursor=${encodeURIComponent(cursor)}`);
      assert.equal(response.status, 400, cursor);
      assert.equal((await problemOf(response)).code, 'INVALID_CURSOR');
    }
    // A comments cursor is no feed cursor.
    const comments = (await (await fetch(`${server.baseUrl}/posts/${posts.get('p1')}/comments?limit=1`)).json()) as { nextCursor: string };
    assert.equal((await fetch(`${server.baseUrl}/posts?cursor=${encodeURIComponent(comments.nextCursor)}`)).status, 400);
    assert.equal((await fetch(`${server.baseUrl}/posts/${posts.get('p3')}/comments?cursor=${encodeURIComponent(comments.nextCursor)}`)).status, 400);
  });
});

describe('the feed under a stream of writes: every page served is the one the posts make', () => {
  let server: RunningServer;
  let alice: TestUser;
  const ids: string[] = [];
  before(async () => {
    server = await startServer();
    alice = await signUpAndLogIn(server.baseUrl, 'stream');
    for (let i = 0; i < 7; i++) {
      const response = await createPost(server.baseUrl, alice, await distinctPng(2000 + i), `s${i}`);
      assert.equal(response.status, 201);
      ids.push(((await response.json()) as { id: string }).id);
    }
  });
  after(() => server.cleanup());

  /** What page `after` (a position, or null for the top) of `limit` must hold, from the posts one by one. */
  async function expectedPage(after: { commentCount: number; id: string } | null, limit: number): Promise<FeedPost[]> {
    const all = await Promise.all(ids.map(async (id) => (await (await fetch(`${server.baseUrl}/posts/${id}`)).json()) as FeedPost));
    const comesAfter = (a: FeedPost, b: { commentCount: number; id: string }) =>
      a.commentCount < b.commentCount || (a.commentCount === b.commentCount && a.id < b.id);
    const ordered = all.sort((a, b) => (comesAfter(a, b) ? 1 : -1));
    return ordered.filter((post) => after === null || comesAfter(post, after)).slice(0, limit);
  }

  test('pages kept across comments elsewhere, and dropped by comments, edits and deletes that touch them', async () => {
    // Every page of 2 as first read, by cursor: the cursor's position stays what it was.
    const pages: { query: string; after: { commentCount: number; id: string } | null }[] = [{ query: '?limit=2', after: null }];
    const walk = async () => {
      let page = (await (await fetch(`${server.baseUrl}/posts?limit=2`)).json()) as FeedPage;
      while (page.nextCursor !== null) {
        const last = page.posts.at(-1)!;
        const query = `?limit=2&cursor=${encodeURIComponent(page.nextCursor)}`;
        pages.push({ query, after: { commentCount: last.commentCount, id: last.id } });
        page = (await (await fetch(`${server.baseUrl}/posts${query}`)).json()) as FeedPage;
      }
    };
    const checkEveryPage = async (step: string) => {
      for (const { query, after } of pages) {
        const served = (await (await fetch(`${server.baseUrl}/posts${query}`)).json()) as FeedPage;
        assert.deepEqual(served.posts, await expectedPage(after, 2), `after ${step}: ${query}`);
      }
    };
    await walk();
    // Comments mostly on the posts at the bottom, so that they climb into, through and past pages.
    const targets = [0, 0, 1, 6, 0, 2, 2, 0, 3, 6, 6, 1, 0, 5, 4, 4, 4, 4];
    for (const [n, target] of targets.entries()) {
      assert.equal((await addComment(server.baseUrl, alice, ids[target]!, `c${n}`)).status, 201);
      await checkEveryPage(`comment ${n} on s${target}`);
    }
    const auth = { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' };
    const edited = await fetch(`${server.baseUrl}/posts/${ids[3]}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ caption: 'edited' }) });
    assert.equal(edited.status, 200);
    await checkEveryPage('a caption edit');
    const deleted = await fetch(`${server.baseUrl}/posts/${ids[5]}`, { method: 'DELETE', headers: { authorization: auth.authorization } });
    assert.equal(deleted.status, 204);
    ids.splice(5, 1);
    await checkEveryPage('a delete');
    assert.equal((await addComment(server.baseUrl, alice, ids[0]!, 'after the delete')).status, 201);
    await checkEveryPage('a comment after the delete');
  });
});
