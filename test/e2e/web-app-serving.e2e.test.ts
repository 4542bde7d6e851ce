/**
 * How the server serves the web app beside the API: its page only for the app's paths and only to
 * clients asking for HTML, its hashed assets compressed and cached for a year, and every API answer
 * (404s included) exactly as before. The app's behaviour in a browser: test/browser/web-app.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { problemOf } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';

const webBuild = fileURLToPath(new URL('../../dist/web/', import.meta.url));
const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

describe('the web app is served at / without shadowing the API', () => {
  let server: RunningServer;
  let entry: string;
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${server.baseUrl}${path}`, { method, headers, signal: AbortSignal.timeout(10_000) });

  before(async () => {
    // `npm install` builds it (scripts/build.js); a checkout without a build cannot test serving it.
    assert.ok(existsSync(join(webBuild, 'index.html')), 'dist/web is not built: run `npm run build`');
    entry = /src="(\/assets\/[^"]+\.js)"/.exec(readFileSync(join(webBuild, 'index.html'), 'utf8'))![1]!;
    server = await startServer();
  });
  after(() => server?.cleanup());

  test("the app's paths answer a browser with the page, under a strict Content-Security-Policy", async () => {
    for (const path of ['/', '/login', '/signup', '/upload', '/library', '/admin', '/p/some-post', '/links/some-token', '/?from=mail']) {
      const response = await get(path, html);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8', path);
      assert.equal(response.headers.get('cache-control'), 'no-cache');
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer', 'the link token must not leak in a Referer');
      const csp = response.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /connect-src 'self'(;|$)/);
      assert.ok((await response.text()).includes(`src="${entry}"`), path);
    }
    const head = await get('/', html, 'HEAD');
    assert.equal(head.status, 200);
  });

  test('API clients and unknown paths keep their problem+json 404s', async () => {
    for (const [path, headers] of [
      ['/', {}],
      ['/', { accept: 'application/json' }],
      ['/nope', html],
      ['/p/a/b', html],
      ['/upload/x', html],
      ['/assets/', html],
    ] as const) {
      const response = await get(path, headers);
      assert.equal(response.status, 404, path);
      assert.equal((await problemOf(response)).code, 'ROUTE_NOT_FOUND', path);
    }
    for (const method of ['GET', 'HEAD']) {
      const linkForApi = await get('/links/some-token', { accept: 'application/json' }, method);
      assert.equal(linkForApi.status, 404, method);
      if (method === 'GET') assert.equal((await problemOf(linkForApi)).code, 'ROUTE_NOT_FOUND');
      else await linkForApi.arrayBuffer();
    }
    const missingAsset = await get('/assets/nope.js', html);
    assert.equal(missingAsset.status, 404);
    await problemOf(missingAsset);
    const post = await fetch(`${server.baseUrl}/login`, { method: 'POST', headers: html });
    assert.equal(post.status, 404, 'only GET and HEAD get the page');
    await post.arrayBuffer();
  });

  test('API routes answer a browser exactly as any client', async () => {
    const feed = await get('/posts', html);
    assert.equal(feed.status, 200);
    assert.match(feed.headers.get('content-type') ?? '', /^application\/json/);
    await feed.arrayBuffer();
    const unknownPost = await get('/posts/00000000-0000-0000-0000-000000000000', html);
    assert.equal(unknownPost.status, 404);
    assert.equal((await problemOf(unknownPost)).code, 'POST_NOT_FOUND');
    const link = await fetch(`${server.baseUrl}/links/not-a-token`, { method: 'POST', headers: html });
    assert.equal(link.status, 404);
    assert.equal((await problemOf(link)).code, 'UPLOAD_LINK_NOT_FOUND');
    const document = (await (await get('/openapi.json')).json()) as { paths: Record<string, unknown> };
    assert.deepEqual(
      Object.keys(document.paths).filter((path) => path.startsWith('/assets') || (path.startsWith('/links/') && 'get' in (document.paths[path] as object))),
      [],
      'the pages and assets are not API',
    );
  });

  test('assets are immutable for a year and sent pre-compressed to clients that accept it', async () => {
    const raw = statSync(join(webBuild, entry)).size;
    for (const [encoding, suffix] of [
      ['br', '.br'],
      ['gzip', '.gz'],
    ] as const) {
      const response = await get(entry, { 'accept-encoding': encoding });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-encoding'), encoding);
      assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.match(response.headers.get('content-type') ?? '', /javascript/);
      assert.equal(Number(response.headers.get('content-length')), statSync(join(webBuild, entry + suffix)).size);
      await response.arrayBuffer();
    }
    const plain = await get(entry, { 'accept-encoding': 'identity' });
    assert.equal(plain.headers.get('content-encoding'), null);
    assert.equal((await plain.arrayBuffer()).byteLength, raw);
  });
});
