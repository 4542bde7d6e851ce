import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { signUpAndLogIn, type TestUser } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';

/**
 * Property tests: whatever arrives at /graphql — any JSON in any parameter, any query string, any
 * multipart framing — is answered below 500, within 2 s, and the process lives on. A failure
 * prints fast-check's seed and the offending request; re-run it with `seed` and `path` in `runs`.
 */
const answerWithinMs = 2000;
const runs = { numRuns: 150, endOnFailure: true } as const;

const queries = ['{ __typename }', '{ posts(first: 2) { edges { node { id caption } } } }', 'query Q($n: Int) { posts(first: $n) { edges { cursor } } }', 'mutation { createCollection(name: "fuzz") { id } }', 'mutation($f: Upload!) { uploadImage(file: $f) { duplicate } }', '{ me { id } }', '{', ''];

/** A value for one request parameter: plausible most of the time, anything JSON otherwise. */
const parameter = fc.oneof(
  { arbitrary: fc.jsonValue(), weight: 3 },
  { arbitrary: fc.constantFrom(...queries), weight: 2 },
  { arbitrary: fc.string(), weight: 1 },
  { arbitrary: fc.constantFrom(null, {}, { persistedQuery: { version: 1, sha256Hash: 'ab' } }, { n: 5 }, { f: null }, 'Q'), weight: 1 },
);

const envelope = fc.record({ query: parameter, operationName: parameter, variables: parameter, extensions: parameter }, { requiredKeys: [] });

describe('GraphQL: property tests — no request gets a 5xx, hangs, or ends the process', () => {
  let server: RunningServer;
  let alice: TestUser;

  before(async () => {
    server = await startServer({ env: { MAX_UPLOAD_BYTES: '4096' } });
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
  });
  after(() => server.cleanup());

  async function assertAnswered(url: string, init: RequestInit): Promise<void> {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(answerWithinMs) });
    const text = await response.text();
    assert.ok(response.status < 500, `${response.status} ${text.slice(0, 300)}`);
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
      fc.asyncProperty(body, contentType, fc.boolean(), async (payload, type, signedIn) => {
        const headers = { 'content-type': type, 'x-graphql-csrf': '1', ...(signedIn ? alice.headers : {}) };
        await assertAnswered(`${server.baseUrl}/graphql`, { method: 'POST', headers, body: payload });
      }),
      runs,
    );
    await assertAlive();
  });

  test('GET: arbitrary query-string parameters, repeated or not, JSON or not', async () => {
    const name = fc.oneof(fc.constantFrom('query', 'operationName', 'variables', 'extensions'), fc.string({ maxLength: 8 }));
    const value = fc.oneof(parameter.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))), fc.string());
    const params = fc.array(fc.tuple(name, value), { maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(params, async (pairs) => {
        const search = new URLSearchParams();
        for (const [key, text] of pairs) search.append(key, text ?? '');
        await assertAnswered(`${server.baseUrl}/graphql?${search}`, { method: 'GET' });
      }),
      runs,
    );
    await assertAlive();
  });

  test('multipart: random boundaries, part headers, line endings, truncations and missing parts', async () => {
    const boundaryChars = fc.constantFrom(...'abcXYZ019\'()+_,-./:=? '.split(''));
    const boundary = fc.string({ unit: boundaryChars, minLength: 0, maxLength: 20 });
    const eol = fc.constantFrom('\r\n', '\n', '\r', '\r\r\n');
    const disposition = fc.oneof(
      fc.constantFrom('operations', 'map', '0', '1', '').map((n) => `Content-Disposition: form-data; name="${n}"`),
      fc.constantFrom('0', '1').map((n) => `Content-Disposition: form-data; name="${n}"; filename="x.png"`),
      fc.string({ maxLength: 40 }).map((n) => `Content-Disposition: form-data; name="0"; filename="${n}"`),
      fc.string({ maxLength: 60 }),
    );
    const header = fc.oneof({ arbitrary: disposition, weight: 4 }, { arbitrary: fc.constantFrom('Content-Type: image/png', 'Content-Type: application/json', 'X-Long: ' + 'a'.repeat(20_000)), weight: 1 });
    const operations = fc.constantFrom(...queries).map((query) => JSON.stringify({ query, variables: { f: null } }));
    const maps = fc.constantFrom('{}', '{"0":["variables.f"]}', '{"0":["variables.f"],"1":["variables.g"]}', '{"0":["variables.__proto__.x"]}', '{"0":"variables.f"}', '[]');
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
        let body = f.preamble + f.parts.map((p) => `--${f.boundary}${f.eol}${p.headers.join(f.eol)}${f.eol}${f.eol}${p.content}${f.eol}`).join('') + (f.closed ? `--${f.boundary}--${f.eol}` : '');
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
