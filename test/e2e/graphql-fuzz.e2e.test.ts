import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { signUpAndLogIn, type TestUser } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';

/**
 * Property tests: whatever arrives at /graphql — any JSON in any parameter, any query string, any
 * multipart framing, any Accept — is answered below 500, within 2 s, with a status that fits the
 * response's media type, and the process lives on. A failure
 * prints fast-check's seed and the offending request; re-run it with `seed` and `path` in `runs`.
 */
const answerWithinMs = 2000;
const runs = { numRuns: 150, endOnFailure: true } as const;

const queries = [
  '{ __typename }',
  '{ posts(first: 2) { edges { node { id caption } } } }',
  'query Q($n: Int) { posts(first: $n) { edges { cursor } } }',
  'mutation { createCollection(name: "fuzz") { id } }',
  'mutation($f: Upload!) { uploadImage(file: $f) { duplicate } }',
  '{ me { id } }',
  '{',
  '',
];

/** A value for one request parameter: plausible most of the time, anything JSON otherwise. */
const parameter = fc.oneof(
  { arbitrary: fc.jsonValue(), weight: 3 },
  { arbitrary: fc.constantFrom(...queries), weight: 2 },
  { arbitrary: fc.string(), weight: 1 },
  { arbitrary: fc.constantFrom(null, {}, { persistedQuery: { version: 1, sha256Hash: 'ab' } }, { n: 5 }, { f: null }, 'Q'), weight: 1 },
);

/** Accept headers: what clients send, wildcards, zero and malformed quality values, and nonsense. */
const accept = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    'application/json',
    'application/graphql-response+json',
    '*/*',
    'application/graphql-response+json, application/json;q=0.9',
    'text/html',
    'application/json;q=0',
  ),
  fc
    .array(
      fc.constantFrom(
        'application/json',
        'application/graphql-response+json',
        '*/*',
        'application/*',
        'text/*',
        'text/html',
        ';q=0',
        ';q=0.5',
        ';q=1.0',
        ';q=x',
        ';charset=utf-8',
        ',',
        ' ',
        '/',
      ),
      { maxLength: 6 },
    )
    .map((tokens) => tokens.join('')),
);
const withAccept = (headers: Record<string, string>, value: string | undefined) => (value === undefined ? headers : { ...headers, accept: value });

const envelope = fc.record({ query: parameter, operationName: parameter, variables: parameter, extensions: parameter }, { requiredKeys: [] });

describe('GraphQL: property tests — no request gets a 5xx, hangs, or ends the process', () => {
  let server: RunningServer;
  let alice: TestUser;

  before(async () => {
    server = await startServer({ env: { MAX_UPLOAD_BYTES: '4096' } });
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
  });
  after(() => server.cleanup());

  /**
   * Below 500, and by the GraphQL-over-HTTP rules of the type it came in: under
   * application/graphql-response+json no `data` means 4xx and non-null `data` means 2xx; under
   * application/json non-null `data` means 200; anything else is a 406 problem document.
   */
  async function assertAnswered(url: string, init: RequestInit): Promise<void> {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(answerWithinMs) });
    const text = await response.text();
    const what = `${response.status} ${response.headers.get('content-type')} ${text.slice(0, 300)}`;
    assert.ok(response.status < 500, what);
    const type = response.headers.get('content-type') ?? '';
    if (type === 'application/graphql-response+json; charset=utf-8') {
      const body = JSON.parse(text) as { data?: unknown };
      if (!('data' in body)) assert.ok(response.status >= 400, what);
      else if (body.data !== null) assert.ok(response.status < 300, what);
    } else if (type === 'application/json; charset=utf-8') {
      const body = JSON.parse(text) as { data?: unknown };
      if (body.data !== undefined && body.data !== null) assert.equal(response.status, 200, what);
    } else {
      assert.ok(response.status === 406 && type.startsWith('application/problem+json'), what);
    }
  }

  async function assertAlive(): Promise<void> {
    const health = await fetch(`${server.baseUrl}/healthz`, { signal: AbortSignal.timeout(answerWithinMs) });
    assert.equal(health.status, 200);
  }

  test('POST: arbitrary JSON in every field of the body, or as the whole body', async () => {
    const body = fc.oneof(
      { arbitrary: envelope.map((value) => JSON.stringify(value)), weight: 4 },
      { arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)), weight: 1 },
      { arbitrary: fc.string(), weight: 1 },
    );
    const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/graphql', 'text/plain');
    await fc.assert(
      fc.asyncProperty(body, contentType, fc.boolean(), accept, async (payload, type, signedIn, acceptHeader) => {
        const headers = withAccept({ 'content-type': type, 'x-graphql-csrf': '1', ...(signedIn ? alice.headers : {}) }, acceptHeader);
        await assertAnswered(`${server.baseUrl}/graphql`, { method: 'POST', headers, body: payload });
      }),
      runs,
    );
    await assertAlive();
  });

  test('GET: arbitrary query-string parameters, repeated or not, JSON or not', async () => {
    const name = fc.oneof(fc.constantFrom('query', 'operationName', 'variables', 'extensions'), fc.string({ maxLength: 8 }));
    const value = fc.oneof(
      parameter.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
      fc.string(),
    );
    const params = fc.array(fc.tuple(name, value), { maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(params, accept, async (pairs, acceptHeader) => {
        const search = new URLSearchParams();
        for (const [key, text] of pairs) search.append(key, text ?? '');
        await assertAnswered(`${server.baseUrl}/graphql?${search}`, { method: 'GET', headers: withAccept({}, acceptHeader) });
      }),
      runs,
    );
    await assertAlive();
  });

  test('multipart: random boundaries, part headers, line endings, truncations and missing parts', async () => {
    const boundaryChars = fc.constantFrom(..."abcXYZ019'()+_,-./:=? ".split(''));
    const boundary = fc.string({ unit: boundaryChars, minLength: 0, maxLength: 20 });
    const eol = fc.constantFrom('\r\n', '\n', '\r', '\r\r\n');
    const disposition = fc.oneof(
      fc.constantFrom('operations', 'map', '0', '1', '').map((n) => `Content-Disposition: form-data; name="${n}"`),
      fc.constantFrom('0', '1').map((n) => `Content-Disposition: form-data; name="${n}"; filename="x.png"`),
      fc.string({ maxLength: 40 }).map((n) => `Content-Disposition: form-data; name="0"; filename="${n}"`),
      fc.string({ maxLength: 60 }),
    );
    const header = fc.oneof(
      { arbitrary: disposition, weight: 4 },
      { arbitrary: fc.constantFrom('Content-Type: image/png', 'Content-Type: application/json', 'X-Long: ' + 'a'.repeat(20_000)), weight: 1 },
    );
    const operations = fc.constantFrom(...queries).map((query) => JSON.stringify({ query, variables: { f: null } }));
    const maps = fc.constantFrom(
      '{}',
      '{"0":["variables.f"]}',
      '{"0":["variables.f"],"1":["variables.g"]}',
      '{"0":["variables.__proto__.x"]}',
      '{"0":"variables.f"}',
      '[]',
    );
    const content = fc.oneof(operations, maps, fc.string({ maxLength: 200 }), fc.constant('\x89PNG\r\n\x1a\n' + 'x'.repeat(5000)));
    const part = fc.record({ headers: fc.array(header, { maxLength: 3 }), content });
    // Half the time a well-ordered request (operations, map, file) to mutate, half anything.
    const wellOrdered = fc.tuple(operations, maps, content).map(([ops, map, file]) => [
      { headers: ['Content-Disposition: form-data; name="operations"'], content: ops },
      { headers: ['Content-Disposition: form-data; name="map"'], content: map },
      { headers: ['Content-Disposition: form-data; name="0"; filename="x.png"'], content: file },
    ]);
    const parts = fc.oneof(wellOrdered, fc.array(part, { maxLength: 4 }));
    const framing = fc.record({
      boundary,
      declared: fc.oneof(fc.constant(null), boundary),
      eol,
      parts,
      preamble: fc.oneof(fc.constant(''), fc.string({ maxLength: 20 })),
      closed: fc.boolean(),
      cut: fc.oneof(fc.constant(null), fc.nat()),
      csrf: fc.boolean(),
      signedIn: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(framing, async (f) => {
        let body =
          f.preamble +
          f.parts.map((p) => `--${f.boundary}${f.eol}${p.headers.join(f.eol)}${f.eol}${f.eol}${p.content}${f.eol}`).join('') +
          (f.closed ? `--${f.boundary}--${f.eol}` : '');
        if (f.cut !== null) body = body.slice(0, f.cut % (body.length + 1));
        // `declared` null: the boundary as framed; otherwise possibly another one, or none at all.
        const declared = f.declared === null ? f.boundary : f.declared;
        const contentType = declared === '' ? 'multipart/form-data' : `multipart/form-data; boundary="${declared}"`;
        const headers = { 'content-type': contentType, ...(f.csrf ? { 'x-graphql-csrf': '1' } : {}), ...(f.signedIn ? alice.headers : {}) };
        await assertAnswered(`${server.baseUrl}/graphql`, { method: 'POST', headers, body });
      }),
      runs,
    );
    await assertAlive();
  });
});
