import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { distinctPng, signUpAndLogIn, type TestUser, uploadImage } from '../support/client.js';
import { graphql, type GraphqlBody, graphqlGetUrl, modernAccept, onlyError } from '../support/graphql.js';

// The limits are GraphQL request errors: 400 to a client accepting application/graphql-response+json.
const graphqlPost = (baseUrl: string, query: string) =>
  fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: modernAccept },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(30_000),
  });
import { startServer, type RunningServer } from '../support/server.js';

describe('GraphQL: abusive operations are refused before they execute', () => {
  let server: RunningServer;
  let alice: TestUser;
  let collectionId: string;

  before(async () => {
    server = await startServer({ env: { IMAGEGRAM_DEBUG_QUERY_COUNT: '1', RATE_LIMIT_PER_MINUTE: '6' } });
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
    const upload = await uploadImage(server.baseUrl, alice, await distinctPng(9000), 'x.png', 'image/png');
    const imageId = ((await upload.json()) as { id: string }).id;
    const created = await graphql<{ createCollection: { id: string } }>(server.baseUrl, 'mutation { createCollection(name: "deep") { id } }', {}, alice);
    collectionId = created.body.data!.createCollection.id;
    await graphql(server.baseUrl, `mutation { addImagesToCollection(collectionId: "${collectionId}", imageIds: ["${imageId}"]) { id } }`, {}, alice);
  });
  after(() => server.cleanup());

  test('depth 3 passes (collection { images { collections } }); a fourth level is QUERY_TOO_DEEP', async () => {
    const three = await graphql<{ collection: { images: { collections: { id: string }[] }[] } }>(
      server.baseUrl,
      `{ collection(id: "${collectionId}") { images { collections { id name } } } }`,
    );
    assert.equal(three.status, 200);
    assert.deepEqual(
      three.body.data?.collection.images[0]?.collections.map((c) => c.id),
      [collectionId],
    );
    // Connection plumbing (edges, node) adds no level: the feed with comment authors is depth 3.
    const feed = await graphql(server.baseUrl, '{ posts { edges { node { lastComments { author { username } } image { owner { username } } } } } }');
    assert.equal(feed.body.errors, undefined);

    const four = await graphql(server.baseUrl, `{ collection(id: "${collectionId}") { images { collections { images { id } } } } }`);
    assert.equal(four.status, 400);
    assert.equal('data' in four.body, false, 'refused before execution: no data entry');
    const error = onlyError(four.body);
    assert.deepEqual([error.code, error.errorCode], ['GRAPHQL_VALIDATION_FAILED', 'QUERY_TOO_DEEP']);
    // Fragments count where they are spread.
    const viaFragment = await graphql(
      server.baseUrl,
      `fragment Deep on Image { collections { images { id } } } { collection(id: "${collectionId}") { images { ...Deep } } }`,
    );
    assert.equal(onlyError(viaFragment.body).errorCode, 'QUERY_TOO_DEEP');
  });

  test('aliased posts(first: 100): 1,000 are too large to parse, 120 too costly; both refused fast, without running any SQL', async () => {
    const aliased = (count: number) => Array.from({ length: count }, (_, i) => `a${i}: posts(first: 100) { edges { node { id } } }`).join('\n');
    const refuse = async (count: number) => {
      const response = await graphqlPost(server.baseUrl, `{ ${aliased(count)} }`);
      assert.equal(response.status, 400);
      // Refused from the text or the parsed document, before validation and any resolver.
      assert.equal(response.headers.get('x-query-count'), '0');
      return onlyError((await response.json()) as never);
    };
    assert.deepEqual(Object.values(await refuse(1000)).slice(0, 2), ['GRAPHQL_VALIDATION_FAILED', 'QUERY_TOO_LARGE']);
    assert.deepEqual(Object.values(await refuse(120)).slice(0, 2), ['GRAPHQL_VALIDATION_FAILED', 'QUERY_TOO_COMPLEX']);
    // `first` from a variable counts the same; one page of 100 is fine.
    const wide = await graphql(
      server.baseUrl,
      'query($n: Int) { a: posts(first: $n) { edges { node { id } } } b: posts(first: $n) { edges { node { id } } } }',
      { n: 100 },
    );
    assert.equal(wide.body.errors, undefined);
    const big = await graphql(
      server.baseUrl,
      `query($n: Int) { collections(first: $n) { edges { node { images { collections { id } } } } } }`,
      { n: 100 },
      alice,
    );
    assert.equal(onlyError(big.body).errorCode, 'QUERY_TOO_COMPLEX');
  });

  test('fragment bombs (each fragment spreads the next twice) are answered without expanding them, and /healthz stays responsive', async () => {
    // 22 levels: 4 million selections when expanded; every check here walks each fragment once.
    const bomb = (levels: number, type: string, leaf: string, body = (next: string) => `...${next} ...${next}`) =>
      Array.from({ length: levels }, (_, i) => `fragment F${i} on ${type} { ${body(`F${i + 1}`)} }`).join(' ') + ` fragment F${levels} on ${type} { ${leaf} }`;
    const cases = [
      { query: `query { ...F0 } ${bomb(22, 'Query', '__typename')}`, status: 200, errorCode: undefined },
      { query: `query { ...F0 } ${bomb(22, 'Query', 'posts(first: 100) { edges { node { id } } }')}`, status: 400, errorCode: 'QUERY_TOO_COMPLEX' },
      {
        query: `query { image(id: "x") { ...F0 } } ${bomb(22, 'Image', 'id', (next) => `collections { images { ...${next} ...${next} } }`)}`,
        status: 400,
        errorCode: 'QUERY_TOO_DEEP',
      },
      { query: `query { ...F0 } ${bomb(150, 'Query', '__typename')}`, status: 400, errorCode: 'QUERY_TOO_LARGE' },
    ];
    // Expanded, one of these would hold the event loop for minutes; checked fragment by fragment
    // they take milliseconds. How fast is the benchmarks' business: here a generous deadline only
    // turns an expansion (or a hang) into a failure instead of a stuck run.
    const deadline = () => AbortSignal.timeout(30_000);
    for (const { query, status, errorCode } of cases) {
      // Several at once, over POST and GET, with a health check in flight beside them.
      const requests = Array.from({ length: 4 }, async (_, i) => {
        const init = { headers: { accept: modernAccept }, signal: deadline() };
        const response = i % 2 ? await fetch(graphqlGetUrl(server.baseUrl, query), init) : await graphqlPost(server.baseUrl, query);
        return { status: response.status, body: (await response.json()) as GraphqlBody };
      });
      const [probe, ...answers] = await Promise.all([fetch(`${server.baseUrl}/healthz`, { signal: deadline() }), ...requests]);
      for (const answer of answers) {
        assert.equal(answer.status, status, JSON.stringify(answer.body).slice(0, 300));
        if (errorCode) assert.equal(onlyError(answer.body).errorCode, errorCode);
      }
      assert.equal(probe.status, 200);
    }
  });

  test('CSRF: a POST that a cross-site form could send (no JSON, no preflight header) is refused', async () => {
    const response = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    assert.equal(response.status, 400);
    assert.equal(onlyError((await response.json()) as never).errorCode, 'CSRF_PREVENTED');
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: 'mutation { createCollection(name: "csrf") { id } }' }));
    form.append('map', '{}');
    const multipart = await fetch(`${server.baseUrl}/graphql`, { method: 'POST', headers: alice.headers, body: form });
    assert.equal(multipart.status, 400);
    assert.equal(onlyError((await multipart.json()) as never).errorCode, 'CSRF_PREVENTED');
    const mine = await graphql<{ collections: { edges: { node: { name: string } }[] } }>(
      server.baseUrl,
      '{ collections { edges { node { name } } } }',
      {},
      alice,
    );
    assert.deepEqual(
      mine.body.data?.collections.edges.map((e) => e.node.name),
      ['deep'],
    );
  });

  test('mutations over GET are refused with 405', async () => {
    const response = await fetch(graphqlGetUrl(server.baseUrl, 'mutation { createCollection(name: "get") { id } }'), { headers: alice.headers });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'POST');
    assert.equal(onlyError((await response.json()) as never).errorCode, 'METHOD_NOT_ALLOWED');
  });

  test('introspection and GraphiQL are on outside production', async () => {
    const schema = await graphql<{ __schema: { queryType: { name: string } } }>(
      server.baseUrl,
      '{ __schema { queryType { name } types { name fields { name type { name ofType { name ofType { name } } } } } } }',
    );
    assert.equal(schema.body.data?.__schema.queryType.name, 'Query');
    assert.equal((await fetch(`${server.baseUrl}/graphiql`)).status, 200);
  });

  test('writes share the per-user write rate limit, one count per mutation field', async () => {
    // Two writes were made in `before` (RATE_LIMIT_PER_MINUTE=6): five more in one request are too many.
    const many = Array.from({ length: 5 }, (_, i) => `c${i}: createCollection(name: "n${i}") { id }`).join(' ');
    const refused = await graphql(server.baseUrl, `mutation { ${many} }`, {}, alice);
    assert.equal(refused.status, 429);
    assert.equal(onlyError(refused.body).errorCode, 'RATE_LIMITED');
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    const reads = await graphql(server.baseUrl, '{ me { username } }', {}, alice);
    assert.deepEqual(reads.body, { data: { me: { username: alice.username } } });
  });
});

describe('GraphQL in production: no introspection by default; limits are configurable', () => {
  let server: RunningServer;
  before(async () => (server = await startServer({ env: { NODE_ENV: 'production', GRAPHQL_MAX_DEPTH: '2', GRAPHQL_CACHE_MAX_AGE: '60' } })));
  after(() => server.cleanup());

  test('introspection is refused and GraphiQL is not served', async () => {
    const schema = await graphql(server.baseUrl, '{ __type(name: "Query") { name } }');
    assert.equal(schema.status, 400);
    assert.equal(onlyError(schema.body).code, 'GRAPHQL_VALIDATION_FAILED');
    assert.equal((await fetch(`${server.baseUrl}/graphiql`)).status, 404);
    assert.equal((await graphql(server.baseUrl, '{ me { id } }')).status, 200);
  });

  test('GRAPHQL_MAX_DEPTH and GRAPHQL_CACHE_MAX_AGE apply', async () => {
    const three = await graphql(server.baseUrl, '{ collection(id: "x") { images { collections { id } } } }');
    assert.equal(onlyError(three.body).errorCode, 'QUERY_TOO_DEEP');
    const response = await fetch(graphqlGetUrl(server.baseUrl, '{ collection(id: "x") { images { id } } }'));
    assert.equal(response.headers.get('cache-control'), 'public, max-age=60');
  });
});

describe('GraphQL: mutations that check a password are limited like log-ins', () => {
  let server: RunningServer;
  before(async () => (server = await startServer({ env: { RATE_LIMIT_PER_MINUTE: '100', LOGIN_RATE_LIMIT_PER_MINUTE: '3' } })));
  after(() => server.cleanup());

  test('changePassword and deleteAccount share the log-in budget, not the write budget', async () => {
    const alice = await signUpAndLogIn(server.baseUrl, 'guess');
    const change = 'mutation { changePassword(currentPassword: "guess one", newPassword: "a new long password") }';
    const remove = 'mutation { deleteAccount(password: "guess two") }';
    const codes = [];
    for (const attempt of [change, remove, change, remove]) codes.push(onlyError((await graphql(server.baseUrl, attempt, {}, alice)).body).errorCode);
    assert.deepEqual(codes, ['WRONG_PASSWORD', 'WRONG_PASSWORD', 'WRONG_PASSWORD', 'RATE_LIMITED']);
    const refused = await graphql(server.baseUrl, change, {}, alice);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    // Other writes draw on the write budget, which is untouched.
    const created = await graphql<{ createCollection: { name: string } }>(
      server.baseUrl,
      'mutation { createCollection(name: "still fine") { name } }',
      {},
      alice,
    );
    assert.equal(created.body.data?.createCollection.name, 'still fine');
  });
});
