import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { addComment, createPost, distinctPng, signUpAndLogIn, type TestUser, uploadImage } from '../support/client.js';
import { graphql, graphqlGetUrl, modernAccept, onlyError } from '../support/graphql.js';
import { startServer, type RunningServer } from '../support/server.js';

interface FeedData {
  posts: {
    edges: {
      cursor: string;
      node: {
        id: string;
        caption: string;
        commentCount: number;
        author: { username: string };
        image: { url: string; width: number };
        lastComments: { body: string; author: { username: string } }[];
      };
    }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

const feedQuery = `query($first: Int, $after: String) {
  posts(first: $first, after: $after) {
    edges { cursor node { id caption commentCount author { username } image { url width } lastComments { body author { username } } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe('GraphQL: the feed, posts and comments', () => {
  let server: RunningServer;
  let alice: TestUser;
  let bob: TestUser;
  const ids = new Map<string, string>();

  before(async () => {
    // The debug header lets the test count each request's SQL statements; the feed version is
    // read for every request, so two pages count the same whenever they run.
    server = await startServer({ env: { IMAGEGRAM_DEBUG_QUERY_COUNT: '1', FEED_VERSION_MAX_AGE_MS: '0' } });
    [alice, bob] = await Promise.all([signUpAndLogIn(server.baseUrl, 'alice'), signUpAndLogIn(server.baseUrl, 'bob')]);
    // 24 posts; comment counts 0, 1 or 2 by index, so the order mixes counts and ties.
    for (let i = 0; i < 24; i++) {
      const response = await createPost(server.baseUrl, i % 2 ? bob : alice, await distinctPng(7000 + i), `p${i}`);
      const { id } = (await response.json()) as { id: string };
      ids.set(`p${i}`, id);
      for (let c = 0; c < i % 3; c++) assert.equal((await addComment(server.baseUrl, c % 2 ? alice : bob, id, `p${i} c${c}`)).status, 201);
    }
  });
  after(() => server.cleanup());

  test('posts is a Relay connection in the order of GET /posts, with the same fields', async () => {
    const rest = (await (await fetch(`${server.baseUrl}/posts?limit=100`)).json()) as {
      posts: { id: string; lastComments: { body: string }[]; image: { url: string } }[];
    };
    const captions: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const { body } = await graphql<FeedData>(server.baseUrl, feedQuery, { first: 10, after });
      const page: FeedData['posts'] = body.data!.posts;
      captions.push(...page.edges.map((e) => e.node.caption));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      pages += 1;
      if (pages === 1) {
        const top = page.edges[0]!.node;
        const same = rest.posts[0]!;
        assert.equal(top.id, same.id);
        assert.deepEqual(
          top.lastComments.map((c) => c.body),
          same.lastComments.map((c) => c.body),
        );
        assert.equal(top.image.url, same.image.url);
        assert.equal(top.commentCount, 2);
      }
    } while (after);
    assert.equal(pages, 3);
    const captionOf = new Map([...ids].map(([caption, id]) => [id, caption]));
    assert.deepEqual(
      captions,
      rest.posts.map((p) => captionOf.get(p.id)),
    );
  });

  test('a page of 20 posts with image, author and last comments costs the same SQL as a page of 5', async () => {
    const count = async (first: number) => {
      const response = await fetch(
        graphqlGetUrl(server.baseUrl, feedQuery.replace('image { url width }', 'image { url width format owner { username createdAt } }'), { first }),
      );
      assert.equal(response.status, 200);
      const body = (await response.json()) as { data: FeedData };
      assert.equal(body.data.posts.edges.length, first);
      return Number(response.headers.get('x-query-count'));
    };
    const [five, twenty] = [await count(5), await count(20)];
    // The feed version (anonymous GETs are page-cached), posts with authors and images, their last
    // comments, the images' whole rows, their owners.
    assert.ok(five > 0 && five <= 5, `a page of 5 ran ${five} queries`);
    assert.equal(twenty, five);
  });

  test('a query run again (then compiled) answers exactly as its first run, data and errors alike', async () => {
    // Signed in: executed every time, never answered from the page cache.
    const cases: [string, Record<string, unknown>][] = [
      [feedQuery, { first: 3 }],
      [feedQuery, { first: 3, after: 'forged.cursor' }],
      [feedQuery, { first: 1000 }],
      ['query($id: ID!) { post(id: $id) { id caption comments(first: 0) { edges { cursor } } } }', { id: ids.get('p5')! }],
      ['{ me { username } posts(first: 2) { edges { node { image { format size owner { username } } } } } }', {}],
    ];
    for (const [query, variables] of cases) {
      const runs = [];
      for (let run = 0; run < 4; run++) {
        const { status, body } = await graphql(server.baseUrl, query, variables, alice);
        runs.push({ status, body });
      }
      for (const later of runs.slice(1)) assert.deepEqual(later, runs[0], `${query} ${JSON.stringify(variables)}`);
    }
  });

  test("post(id) and a post's comments, paged newest first", async () => {
    const id = ids.get('p5')!;
    type PostComments = { post: { caption: string; comments: { edges: { node: { body: string } }[]; pageInfo: { endCursor: string } } } };
    const query = `query($id: ID!, $after: String) { post(id: $id) { caption comments(first: 1, after: $after) { edges { node { body author { username createdAt } } } pageInfo { hasNextPage endCursor } } } }`;
    const first = (await graphql<PostComments>(server.baseUrl, query, { id })).body.data!.post;
    assert.equal(first.caption, 'p5');
    assert.deepEqual(
      first.comments.edges.map((e) => e.node.body),
      ['p5 c1'],
    );
    const second = (await graphql<PostComments>(server.baseUrl, query, { id, after: first.comments.pageInfo.endCursor })).body.data!.post;
    assert.deepEqual(
      second.comments.edges.map((e) => e.node.body),
      ['p5 c0'],
    );
    assert.deepEqual((await graphql(server.baseUrl, '{ post(id: "nope") { id } }')).body, { data: { post: null } });
  });

  test('createPost, addComment (idempotent with a key), deleteComment and deletePost, with their refusals', async () => {
    const upload = await uploadImage(server.baseUrl, alice, await distinctPng(7100), 'x.png', 'image/png');
    const imageId = ((await upload.json()) as { id: string }).id;
    const create = (user: TestUser | null, caption: string, image = imageId) =>
      graphql<{ createPost: { id: string; caption: string; image: { id: string } } }>(
        server.baseUrl,
        'mutation($c: String!, $i: ID) { createPost(caption: $c, imageId: $i) { id caption image { id } } }',
        { c: caption, i: image },
        user,
      );
    assert.equal(onlyError((await create(null, 'anon')).body).code, 'UNAUTHENTICATED');
    assert.equal(onlyError((await create(bob, 'not mine')).body).code, 'FORBIDDEN');
    assert.equal(onlyError((await create(alice, 'x'.repeat(2201))).body).code, 'BAD_USER_INPUT');
    assert.equal(onlyError((await create(alice, 'ghost', 'no-such-image')).body).errorCode, 'IMAGE_NOT_FOUND');
    const post = (await create(alice, 'via graphql')).body.data!.createPost;
    assert.deepEqual([post.caption, post.image.id], ['via graphql', imageId]);

    const comment = (key: string) =>
      graphql<{ addComment: { id: string; body: string } }>(
        server.baseUrl,
        'mutation($p: ID!, $k: String) { addComment(postId: $p, body: "hi", idempotencyKey: $k) { id body } }',
        { p: post.id, k: key },
        bob,
      );
    const [once, retry] = [await comment('retry-1'), await comment('retry-1')];
    assert.equal(once.body.data!.addComment.id, retry.body.data!.addComment.id, 'a retry replays the first comment');
    const counted = await graphql<{ post: { commentCount: number } }>(server.baseUrl, `{ post(id: "${post.id}") { commentCount } }`);
    assert.equal(counted.body.data!.post.commentCount, 1);

    const commentId = once.body.data!.addComment.id;
    const deleteComment = (user: TestUser) => graphql(server.baseUrl, `mutation { deleteComment(postId: "${post.id}", commentId: "${commentId}") }`, {}, user);
    assert.equal(onlyError((await deleteComment(alice)).body).code, 'FORBIDDEN');
    assert.deepEqual((await deleteComment(bob)).body, { data: { deleteComment: true } });
    assert.equal(onlyError((await deleteComment(bob)).body).code, 'NOT_FOUND');
    assert.equal(
      onlyError((await graphql(server.baseUrl, `mutation { addComment(postId: "${post.id}", body: " ") { id } }`, {}, bob)).body).code,
      'BAD_USER_INPUT',
    );

    const inUse = await graphql(server.baseUrl, `mutation { deleteImage(id: "${imageId}") }`, {}, alice);
    assert.deepEqual([onlyError(inUse.body).code, onlyError(inUse.body).errorCode], ['CONFLICT', 'IMAGE_IN_USE']);
    assert.equal(onlyError((await graphql(server.baseUrl, `mutation { deletePost(id: "${post.id}") }`, {}, bob)).body).code, 'FORBIDDEN');
    assert.deepEqual((await graphql(server.baseUrl, `mutation { deletePost(id: "${post.id}") }`, {}, alice)).body, { data: { deletePost: true } });
    assert.deepEqual((await graphql(server.baseUrl, `mutation { deleteImage(id: "${imageId}") }`, {}, alice)).body, { data: { deleteImage: true } });
  });

  test('anonymous GET reads are public with an ETag and 304; signed-in ones are private', async () => {
    const url = graphqlGetUrl(server.baseUrl, feedQuery, { first: 3 });
    const first = await fetch(url);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('cache-control'), 'public, max-age=5');
    assert.match(first.headers.get('vary') ?? '', /authorization/i);
    assert.match(first.headers.get('vary') ?? '', /accept/i);
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(url, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    // The same body in the other media type is another representation, with its own ETag.
    const modern = await fetch(url, { headers: { accept: modernAccept, 'if-none-match': etag } });
    assert.equal(modern.status, 200);
    assert.equal(modern.headers.get('content-type'), 'application/graphql-response+json; charset=utf-8');
    assert.notEqual(modern.headers.get('etag'), etag);
    assert.deepEqual(await modern.json(), await first.json());
    const signedIn = await fetch(graphqlGetUrl(server.baseUrl, '{ me { username } }'), { headers: alice.headers });
    assert.equal(signedIn.headers.get('cache-control'), 'private, no-store');
    assert.equal(signedIn.headers.get('etag'), null);
    assert.deepEqual(await signedIn.json(), { data: { me: { username: alice.username } } });
    // A validation error is 200 to a legacy JSON client (GraphQL over HTTP), 400 to a current one; never cached.
    for (const [accept, status] of [
      ['application/json', 200],
      [modernAccept, 400],
    ] as const) {
      const failed = await fetch(graphqlGetUrl(server.baseUrl, '{ nope }'), { headers: { accept } });
      assert.equal(failed.status, status);
      assert.equal(failed.headers.get('cache-control'), 'no-store');
      assert.equal(failed.headers.get('etag'), null);
    }
    const posted = await graphql(server.baseUrl, '{ me { id } }');
    assert.deepEqual(posted.body, { data: { me: null } });
    assert.equal(posted.headers.get('cache-control'), 'no-store');
  });

  test('automatic persisted queries: a hash alone works once the query is known', async () => {
    const query = '{ posts(first: 1) { edges { node { caption } } } }';
    const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') };
    const unknown = await fetch(graphqlGetUrl(server.baseUrl, null, undefined, { persistedQuery }));
    assert.equal(onlyError((await unknown.json()) as never).code, 'PERSISTED_QUERY_NOT_FOUND');
    const registered = await fetch(graphqlGetUrl(server.baseUrl, query, undefined, { persistedQuery }));
    assert.equal(registered.status, 200);
    const byHash = await fetch(graphqlGetUrl(server.baseUrl, null, undefined, { persistedQuery }));
    assert.equal(byHash.status, 200);
    assert.deepEqual(await byHash.json(), await registered.json());
  });
});
