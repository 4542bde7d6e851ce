/**
 * GraphiQL works without internet: the page and everything it loads come from this server, under
 * a Content-Security-Policy that allows nothing else.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getIntrospectionQuery } from 'graphql';
import { signUpAndLogIn } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';

const require = createRequire(import.meta.url);
const installed = (name: string) => dirname(require.resolve(`${name}/package.json`));
const versionOf = (name: string) => (JSON.parse(readFileSync(join(installed(name), 'package.json'), 'utf8')) as { version: string }).version;

/** The optional in-browser check needs both; neither is installed by this project. */
const chromiumPath = '/usr/bin/chromium';
const playwrightCore = 'playwright-core';

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers, signal: AbortSignal.timeout(10_000) });

/** Every tag of the page with its attributes (the page is ours and plain: no comments, no CDATA). */
function tagsOf(html: string): { name: string; attributes: Record<string, string>; text: string }[] {
  const tags: { name: string; attributes: Record<string, string>; text: string }[] = [];
  for (const match of html.matchAll(/<([a-zA-Z][\w-]*)([^>]*)>/g)) {
    const name = match[1]!.toLowerCase();
    const attributes = Object.fromEntries([...match[2]!.matchAll(/([\w-]+)(?:="([^"]*)")?/g)].map(([, key, value]) => [key!.toLowerCase(), value ?? '']));
    const rest = html.slice(match.index + match[0].length);
    const text = name === 'script' ? rest.slice(0, rest.indexOf('</script>')) : '';
    tags.push({ name, attributes, text });
  }
  return tags;
}

/** Absolute http(s) or protocol-relative URLs in `text` that do not point at `origin`. */
function foreignUrls(text: string, origin: string): string[] {
  return [...text.matchAll(/(?:https?:)?\/\/[^\s"'<>)]+/gi)]
    .map(([url]) => url)
    .filter((url) => !url.startsWith(`${origin}/`) && /^(https?:)?\/\/[a-z0-9]/i.test(url));
}

describe('GraphiQL is served from this server, offline', () => {
  let server: RunningServer;
  let html: string;
  let page: Response;
  before(async () => {
    server = await startServer({ env: { GRAPHQL_INTROSPECTION: 'on' } });
    page = await get(`${server.baseUrl}/graphiql`);
    html = await page.text();
  });
  after(() => server?.cleanup());

  test('the page is HTML under a CSP allowing scripts and styles from this origin only', () => {
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = Object.fromEntries(
      (page.headers.get('content-security-policy') ?? '').split(';').map((part) => {
        const [directive, ...sources] = part.trim().split(/\s+/);
        return [directive, sources.join(' ')];
      }),
    );
    assert.equal(csp['default-src'], "'none'");
    assert.equal(csp['script-src'], "'self'");
    assert.equal(csp['style-src'], "'self'");
    assert.equal(csp['connect-src'], "'self'");
    assert.equal(csp['frame-ancestors'], "'none'");
    // No inline script for the policy to need an exception for.
    const scripts = tagsOf(html).filter((tag) => tag.name === 'script');
    assert.ok(scripts.length > 0);
    for (const script of scripts) {
      assert.ok(script.attributes.src, 'every script is a file');
      assert.equal(script.text.trim(), '');
    }
    assert.ok(!tagsOf(html).some((tag) => tag.name === 'style' || 'style' in tag.attributes), 'no inline style either');
  });

  test('every script and stylesheet the page names is served here, with its content type', async () => {
    const assets = tagsOf(html).flatMap(({ name, attributes }) => {
      if (name === 'script') return [{ url: attributes.src!, type: 'text/javascript; charset=utf-8' }];
      if (name === 'link' && attributes.rel === 'stylesheet') return [{ url: attributes.href!, type: 'text/css; charset=utf-8' }];
      return [];
    });
    const names = assets.map(({ url }) => new URL(url, server.baseUrl).pathname);
    for (const expected of ['react.production.min.js', 'react-dom.production.min.js', 'graphiql.min.js', 'graphiql.min.css', 'boot.js']) {
      assert.ok(names.includes(`/graphiql/assets/${expected}`), `the page loads ${expected}`);
    }
    for (const { url, type } of assets) {
      assert.match(url, /^\/graphiql\/assets\//, 'a path on this server, not another host');
      const response = await get(`${server.baseUrl}${url}`);
      assert.equal(response.status, 200, url);
      assert.equal(response.headers.get('content-type'), type, url);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.ok((await response.arrayBuffer()).byteLength > 0, url);
    }
  });

  test('neither the page nor its boot script names another host; queries go to /graphql', async () => {
    assert.deepEqual(foreignUrls(html, server.baseUrl), []);
    for (const tag of tagsOf(html)) {
      for (const key of ['src', 'href']) {
        const value = tag.attributes[key];
        if (value !== undefined) assert.ok(value.startsWith('/graphiql/') || value.startsWith('data:'), `${tag.name} ${key}="${value}"`);
      }
    }
    const boot = await (await get(`${server.baseUrl}/graphiql/assets/boot.js`)).text();
    assert.deepEqual(foreignUrls(boot, server.baseUrl), []);
    assert.equal(tagsOf(html).find((tag) => tag.attributes.id === 'graphiql')?.attributes['data-endpoint'], '/graphql');
  });

  test('the vendored files are the installed packages’ bytes, cached for a year under their version', async () => {
    const url = `${server.baseUrl}/graphiql/assets/graphiql.min.js?v=${versionOf('graphiql')}`;
    const response = await get(url);
    const body = Buffer.from(await response.arrayBuffer());
    const onDisk = readFileSync(join(installed('graphiql'), 'graphiql.min.js'));
    assert.equal(createHash('sha256').update(body).digest('hex'), createHash('sha256').update(onDisk).digest('hex'));
    assert.equal(response.headers.get('content-length'), String(onDisk.length));
    assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const etag = response.headers.get('etag')!;
    assert.match(etag, /^"[^"]+"$/, 'a strong validator');
    assert.ok(etag.includes(versionOf('graphiql')), 'keyed by the package version');

    const revalidated = await get(url, { 'if-none-match': etag });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers.get('etag'), etag);
    await revalidated.arrayBuffer();

    // Without the current version in the URL the bytes may change on upgrade: revalidate.
    for (const stale of ['', '?v=0.0.1']) {
      const other = await get(`${server.baseUrl}/graphiql/assets/react.production.min.js${stale}`);
      assert.equal(other.headers.get('cache-control'), 'no-cache');
      assert.ok(other.headers.get('etag')!.includes(versionOf('react')));
      await other.arrayBuffer();
    }
  });

  test('Range: one range is a 206, an unsatisfiable one a 416, several the whole file', async () => {
    const url = `${server.baseUrl}/graphiql/assets/react-dom.production.min.js`;
    const onDisk = readFileSync(join(installed('react-dom'), 'umd/react-dom.production.min.js'));

    const partial = await get(url, { range: 'bytes=0-9' });
    assert.equal(partial.status, 206);
    assert.equal(partial.headers.get('content-range'), `bytes 0-9/${onDisk.length}`);
    assert.deepEqual(Buffer.from(await partial.arrayBuffer()), onDisk.subarray(0, 10));

    const tail = await get(url, { range: 'bytes=-5' });
    assert.equal(tail.status, 206);
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), onDisk.subarray(-5));

    const unsatisfiable = await get(url, { range: `bytes=${onDisk.length}-` });
    assert.equal(unsatisfiable.status, 416);
    assert.equal(unsatisfiable.headers.get('content-range'), `bytes */${onDisk.length}`);
    assert.equal(((await unsatisfiable.json()) as { code: string }).code, 'RANGE_NOT_SATISFIABLE');

    const several = await get(url, { range: 'bytes=0-1,5-6' });
    assert.equal(several.status, 200);
    assert.equal((await several.arrayBuffer()).byteLength, onDisk.length);

    // If-Range naming another version: the whole (new) file.
    const changed = await get(url, { range: 'bytes=0-9', 'if-range': '"something-else"' });
    assert.equal(changed.status, 200);
    await changed.arrayBuffer();
  });

  test('HEAD names the size without a body; unknown names and paths are 404', async () => {
    const head = await fetch(`${server.baseUrl}/graphiql/assets/graphiql.min.css`, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(readFileSync(join(installed('graphiql'), 'graphiql.min.css')).length));
    for (const path of [
      '/graphiql/assets/nope.js',
      '/graphiql/assets/..%2Fpackage.json',
      '/graphiql/assets/%2E%2E%2F%2E%2E%2Fpackage.json',
      '/graphiql/sw.js',
    ]) {
      const response = await get(`${server.baseUrl}${path}`);
      assert.equal(response.status, 404, path);
      await response.arrayBuffer();
    }
  });

  test('GraphiQL’s requests work as its fetcher sends them: plain JSON, and a pasted bearer token', async () => {
    // createGraphiQLFetcher sends only Content-Type (plus the headers editor's): no CSRF header.
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    const schema = await post({ query: getIntrospectionQuery(), operationName: 'IntrospectionQuery' });
    assert.equal(schema.status, 200);
    assert.equal(((await schema.json()) as { data: { __schema: { queryType: { name: string } } } }).data.__schema.queryType.name, 'Query');

    const alice = await signUpAndLogIn(server.baseUrl, 'alice');
    const me = await post({ query: '{ me { username } }' }, { Authorization: alice.headers.authorization });
    assert.deepEqual(await me.json(), { data: { me: { username: alice.username } } });
  });

  const browser = browserUnavailable();
  test('in Chromium, GraphiQL renders with every request answered by this server', { skip: browser ?? false }, async () => {
    const { chromium } = (await import(playwrightCore)) as { chromium: PlaywrightChromium };
    const instance = await chromium.launch({ executablePath: chromiumPath });
    try {
      const tab = await instance.newPage();
      const elsewhere: string[] = [];
      const problems: string[] = [];
      tab.on('request', (request) => {
        if (!request.url().startsWith(server.baseUrl) && !request.url().startsWith('data:')) elsewhere.push(request.url());
      });
      tab.on('pageerror', (error) => problems.push(String(error)));
      await tab.goto(`${server.baseUrl}/graphiql`, { timeout: 20_000 });
      await tab.waitForSelector('.graphiql-container', { timeout: 20_000 });
      assert.deepEqual(elsewhere, []);
      assert.deepEqual(problems, []);
    } finally {
      await instance.close();
    }
  });
});

describe('GraphiQL is not served where introspection is off', () => {
  let server: RunningServer;
  before(async () => (server = await startServer({ env: { GRAPHQL_INTROSPECTION: 'off' } })));
  after(() => server?.cleanup());

  test('/graphiql and its assets are 404, and the API document does not list them', async () => {
    for (const path of ['/graphiql', '/graphiql/assets/graphiql.min.js', '/graphiql/assets/boot.js']) {
      const response = await get(`${server.baseUrl}${path}`);
      assert.equal(response.status, 404, path);
      await response.arrayBuffer();
    }
    const document = (await (await get(`${server.baseUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.deepEqual(
      Object.keys(document.paths).filter((path) => path.startsWith('/graphiql')),
      [],
    );
  });
});

/** The minimum of playwright-core's API this file uses (the package is optional, not installed). */
interface PlaywrightChromium {
  launch(options: { executablePath: string }): Promise<{
    newPage(): Promise<{
      on(event: 'request', listener: (request: { url(): string }) => void): void;
      on(event: 'pageerror', listener: (error: Error) => void): void;
      goto(url: string, options: { timeout: number }): Promise<unknown>;
      waitForSelector(selector: string, options: { timeout: number }): Promise<unknown>;
    }>;
    close(): Promise<void>;
  }>;
}

/** Why the browser check cannot run here, or null when it can. */
function browserUnavailable(): string | null {
  if (!existsSync(chromiumPath)) return `no Chromium at ${chromiumPath}`;
  try {
    require.resolve(playwrightCore);
    return null;
  } catch {
    return 'playwright-core is not installed';
  }
}
