import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { problemOf, signUpAndLogIn, type TestUser } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';
import { createUpload, patchUpload } from '../support/tus.js';

const allowed = 'https://app.example.com';
const other = 'https://evil.example';

/** A browser's preflight for `method` with `headers` from a page on `origin`. */
function preflight(url: string, origin: string, method: string, headers = 'authorization, content-type'): Promise<Response> {
  return fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } });
}

function exposed(response: Response): string[] {
  return (response.headers.get('access-control-expose-headers') ?? '').split(',').map((name) => name.trim().toLowerCase());
}

describe('CORS with CORS_ORIGINS set: REST, GraphQL and tus follow one list', () => {
  let server: RunningServer;
  let alice: TestUser;
  before(async () => {
    server = await startServer({ env: { CORS_ORIGINS: `${allowed}, http://localhost:5173` } });
    alice = await signUpAndLogIn(server.baseUrl, 'cors');
  });
  after(() => server.cleanup());

  test('preflights from an allowed origin succeed on every kind of route, unknown paths included', async () => {
    for (const [path, method, headers] of [
      ['/me', 'GET', 'authorization'],
      ['/me/password', 'PUT', 'authorization, content-type'],
      ['/posts/x', 'PATCH', 'authorization, content-type, idempotency-key'],
      ['/graphql', 'POST', 'content-type, authorization'],
      ['/uploads', 'POST', 'authorization, tus-resumable, upload-length, upload-metadata'],
      ['/uploads/0123456789abcdef0123456789abcdef', 'PATCH', 'authorization, tus-resumable, upload-offset, content-type'],
      ['/no/such/route', 'DELETE', 'authorization'],
    ] as const) {
      const response = await preflight(`${server.baseUrl}${path}`, allowed, method, headers);
      assert.equal(response.status, 204, path);
      assert.equal(response.headers.get('access-control-allow-origin'), allowed, path);
      assert.match(response.headers.get('access-control-allow-methods') ?? '', new RegExp(`\\b${method}\\b`), path);
      assert.equal(response.headers.get('access-control-allow-headers'), headers, path);
      assert.equal(response.headers.get('access-control-allow-credentials'), null, path);
      assert.match(response.headers.get('vary') ?? '', /\bOrigin\b/, path);
    }
  });

  test('a preflight from an origin not in the list is a clean 403 problem, without CORS headers, on REST, GraphQL and tus', async () => {
    for (const path of ['/me', '/graphql', '/uploads', '/uploads/0123456789abcdef0123456789abcdef']) {
      for (const origin of [other, 'null', `${allowed}.evil.example`, 'http://app.example.com']) {
        const response = await preflight(`${server.baseUrl}${path}`, origin, 'POST');
        assert.equal(response.status, 403, `${path} ${origin}`);
        assert.equal((await problemOf(response)).code, 'FORBIDDEN');
        assert.equal(response.headers.get('access-control-allow-origin'), null);
        assert.equal(response.headers.get('access-control-allow-methods'), null);
      }
    }
  });

  test('REST answers name an allowed origin and expose the headers clients read; other origins get none, the request still runs', async () => {
    const mine = await fetch(`${server.baseUrl}/me`, { headers: { ...alice.headers, origin: allowed } });
    assert.equal(mine.status, 200);
    assert.equal(mine.headers.get('access-control-allow-origin'), allowed);
    for (const name of ['location', 'etag', 'retry-after', 'idempotent-replayed', 'idempotency-replayed', 'upload-offset', 'upload-length', 'upload-expires']) {
      assert.ok(exposed(mine).includes(name), name);
    }
    assert.match(mine.headers.get('vary') ?? '', /\bOrigin\b/);
    const refusal = await fetch(`${server.baseUrl}/me`, { headers: { origin: allowed } });
    assert.equal(refusal.status, 401);
    assert.equal(refusal.headers.get('access-control-allow-origin'), allowed, 'errors are readable too');
    const foreign = await fetch(`${server.baseUrl}/me`, { headers: { ...alice.headers, origin: other } });
    assert.equal(foreign.status, 200);
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    assert.equal(foreign.headers.get('access-control-expose-headers'), null);
    const noOrigin = await fetch(`${server.baseUrl}/me`, { headers: alice.headers });
    assert.equal(noOrigin.headers.get('access-control-allow-origin'), null);
  });

  test('GraphQL: allowed origin named (the anonymous GET a cache may keep varies on Origin); others get none', async () => {
    const query = encodeURIComponent('{ posts(first: 1) { edges { cursor } } }');
    const fromApp = await fetch(`${server.baseUrl}/graphql?query=${query}`, { headers: { origin: allowed } });
    assert.equal(fromApp.status, 200);
    assert.equal(fromApp.headers.get('access-control-allow-origin'), allowed);
    assert.match(fromApp.headers.get('vary') ?? '', /\bOrigin\b/);
    assert.match(fromApp.headers.get('vary') ?? '', /\bAccept\b/);
    // The same document again is a page-cache hit: still per origin.
    const fromOther = await fetch(`${server.baseUrl}/graphql?query=${query}`, { headers: { origin: other } });
    assert.equal(fromOther.status, 200);
    assert.equal(fromOther.headers.get('access-control-allow-origin'), null);
    const posted = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: allowed, ...alice.headers },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    assert.equal(posted.headers.get('access-control-allow-origin'), allowed);
    assert.equal(((await posted.json()) as { data: { me: { id: string } } }).data.me.id, alice.id);
  });

  test('tus: only an allowed origin is named (never *), with Location and the Upload-* headers exposed', async () => {
    const created = await createUpload(server.baseUrl, { ...alice.headers, origin: allowed }, 4);
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('access-control-allow-origin'), allowed);
    for (const name of ['location', 'upload-offset', 'upload-length', 'upload-expires', 'tus-resumable']) assert.ok(exposed(created).includes(name), name);
    assert.match(created.headers.get('vary') ?? '', /\bOrigin\b/);
    const url = `${server.baseUrl}${created.headers.get('location')}`;
    const patched = await patchUpload(url, { ...alice.headers, origin: other }, 0, Buffer.from('abcd'));
    assert.equal(patched.status, 204);
    assert.equal(patched.headers.get('access-control-allow-origin'), null);
    const head = await fetch(url, { method: 'HEAD', headers: { ...alice.headers, 'tus-resumable': '1.0.0', origin: allowed } });
    assert.equal(head.headers.get('access-control-allow-origin'), allowed);
    assert.equal(head.headers.get('upload-offset'), '4');
    const refused = await createUpload(server.baseUrl, { origin: allowed }, 4);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), allowed);
  });
});

describe('CORS without CORS_ORIGINS (the default): same origin only', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.cleanup());

  test('no origin is named, tus included (it would answer * on its own); preflights are refused with 403', async () => {
    const alice = await signUpAndLogIn(server.baseUrl, 'nocors');
    const rest = await fetch(`${server.baseUrl}/me`, { headers: { ...alice.headers, origin: allowed } });
    assert.equal(rest.status, 200);
    assert.equal(rest.headers.get('access-control-allow-origin'), null);
    const tus = await createUpload(server.baseUrl, { ...alice.headers, origin: allowed }, 4);
    assert.equal(tus.status, 201);
    assert.equal(tus.headers.get('access-control-allow-origin'), null);
    for (const path of ['/me', '/graphql', '/uploads']) {
      const response = await preflight(`${server.baseUrl}${path}`, allowed, 'POST');
      assert.equal(response.status, 403, path);
      assert.equal(response.headers.get('access-control-allow-origin'), null);
    }
    // A plain OPTIONS (tus discovery, no preflight) still works.
    const discovery = await fetch(`${server.baseUrl}/uploads`, { method: 'OPTIONS' });
    assert.equal(discovery.status, 204);
    assert.equal(discovery.headers.get('tus-version'), '1.0.0');
  });
});
