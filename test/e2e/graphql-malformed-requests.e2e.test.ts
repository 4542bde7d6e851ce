import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signUpAndLogIn, type TestUser } from '../support/client.js';
import { type GraphqlBody, modernAccept, onlyError } from '../support/graphql.js';
import { startServer, type RunningServer } from '../support/server.js';

/** A hung request fails the test instead of the run: every refusal here is immediate. */
const answerWithinMs = 2000;

const uploadQuery = 'mutation($f: Upload!) { uploadImage(file: $f) { duplicate } }';

/** A multipart body from raw parts, each `[headers, content]`, with `boundary` and `eol` as given. */
function multipart(parts: [string[], string][], { boundary = 'b', eol = '\r\n', close = true } = {}): string {
  const body = parts.map(([headers, content]) => `--${boundary}${eol}${headers.join(eol)}${eol}${eol}${content}${eol}`).join('');
  return close ? `${body}--${boundary}--${eol}` : body;
}

const field = (name: string, value: string): [string[], string] => [[`Content-Disposition: form-data; name="${name}"`], value];
const operations = (query: string, variables: Record<string, unknown> = {}) => field('operations', JSON.stringify({ query, variables }));

describe('GraphQL: malformed requests are refused with a 4xx and never take the server down', () => {
  let server: RunningServer;
  let alice: TestUser;

  before(async () => {
    server = await startServer();
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
  });
  after(() => server.cleanup());

  async function send(body: string, contentType: string, headers: Record<string, string> = {}): Promise<{ status: number; body: GraphqlBody }> {
    const response = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': contentType, 'x-graphql-csrf': '1', ...headers },
      body,
      signal: AbortSignal.timeout(answerWithinMs),
    });
    return { status: response.status, body: (await response.json()) as GraphqlBody };
  }

  async function assertAlive(): Promise<void> {
    const health = await fetch(`${server.baseUrl}/healthz`, { signal: AbortSignal.timeout(answerWithinMs) });
    assert.equal(health.status, 200);
  }

  async function assertMalformedMultipart(
    body: string,
    contentType = 'multipart/form-data; boundary=b',
    headers: Record<string, string> = {},
  ): Promise<string> {
    const response = await send(body, contentType, headers);
    assert.equal(response.status, 400, JSON.stringify(response.body));
    const error = onlyError(response.body);
    assert.deepEqual([error.code, error.errorCode], ['BAD_REQUEST', 'MALFORMED_MULTIPART']);
    await assertAlive();
    return error.message;
  }

  test('a part header busboy cannot parse, a CR in a file name, a 20 KB part header: 400, and the server lives on', async () => {
    await assertMalformedMultipart('--b\r\nContent-Disposition: form-data; name="operations"\r\nbogus header line\r\n\r\n{}\r\n--b--\r\n');
    const crInName = multipart([
      operations(uploadQuery, { f: null }),
      field('map', '{"0":["variables.f"]}'),
      [['Content-Disposition: form-data; name="0"; filename="a\rb.png"', 'Content-Type: image/png'], 'not really a png'],
    ]);
    // busboy skips that part (then it is missing), or reads past the CR and the bytes are judged
    // like any upload's; which one depends on how the body was chunked on the wire.
    const crResponse = await send(crInName, 'multipart/form-data; boundary=b', alice.headers);
    assert.ok(crResponse.status < 500, String(crResponse.status));
    assert.ok(['MALFORMED_MULTIPART', 'UNSUPPORTED_FORMAT'].includes(onlyError(crResponse.body).errorCode), JSON.stringify(crResponse.body));
    await assertAlive();
    await assertMalformedMultipart(multipart([[['Content-Disposition: form-data; name="operations"', `X-Padding: ${'a'.repeat(20_000)}`], '{}']]));
    // The same inside the file part, after the operation has been handed over.
    const longFileHeader = multipart([
      operations(uploadQuery, { f: null }),
      field('map', '{"0":["variables.f"]}'),
      [['Content-Disposition: form-data; name="0"; filename="x.png"', `X-Padding: ${'a'.repeat(20_000)}`], 'bytes'],
    ]);
    const longResponse = await send(longFileHeader, 'multipart/form-data; boundary=b', alice.headers);
    assert.ok(longResponse.status < 500 && longResponse.body.errors?.length === 1, `${longResponse.status} ${JSON.stringify(longResponse.body)}`);
    await assertAlive();
  });

  test('no boundary, no operations, LF-only lines, a part without Content-Disposition, a cut-off body: each a prompt 400', async () => {
    const valid = multipart([operations('{ __typename }'), field('map', '{}')]);
    assert.match(await assertMalformedMultipart(valid, 'multipart/form-data'), /boundary/i);
    await assertMalformedMultipart(valid, 'multipart/form-data; charset=utf-8');
    assert.match(await assertMalformedMultipart(multipart([field('map', '{}')])), /operations/);
    await assertMalformedMultipart(multipart([operations('{ __typename }'), field('map', '{}')], { eol: '\n' }));
    await assertMalformedMultipart(multipart([[['Content-Type: text/plain'], 'x']]));
    await assertMalformedMultipart(multipart([operations('{ __typename }'), field('map', '{}')], { close: false }));
    await assertMalformedMultipart(multipart([operations('{ __typename }')]));
    await assertMalformedMultipart('');
    // A file cut off in the middle reaches the resolver's stream as the same refusal.
    const cutFile = multipart(
      [
        operations(uploadQuery, { f: null }),
        field('map', '{"0":["variables.f"]}'),
        [['Content-Disposition: form-data; name="0"; filename="x.png"'], 'partial'],
      ],
      { close: false },
    ).slice(0, -2);
    await assertMalformedMultipart(cutFile, 'multipart/form-data; boundary=b', alice.headers);
  });

  // busboy skips a part without Content-Disposition with a resume() that only flows on the next
  // tick; one bigger than its 16 KiB buffer, ending in the same write, stalled the parser for good
  // (patched in patches/@fastify+busboy+*.patch). Found by the fuzzer below.
  test('a part without Content-Disposition larger than 16 KiB is skipped, not a hung request', async () => {
    const big = 'a'.repeat(20_000);
    const skippedFirst = await send(multipart([[[], big], operations('{ __typename }'), field('map', '{}')]), 'multipart/form-data; boundary=b');
    assert.deepEqual([skippedFirst.status, skippedFirst.body.data], [200, { __typename: 'Query' }]);
    await assertMalformedMultipart(multipart([[['X-Other: 1'], big]]));
    const afterMap = multipart([operations(uploadQuery, { f: null }), field('map', '{"0":["variables.f"]}'), [[], big]]);
    await assertMalformedMultipart(afterMap, 'multipart/form-data; boundary=b', alice.headers);
  });

  test('operations and map that break the multipart request spec are 400s naming the problem', async () => {
    const withMap = (ops: string, map: string) => multipart([field('operations', ops), field('map', map)]);
    assert.match(await assertMalformedMultipart(withMap('[]', '{}')), /JSON object/);
    await assertMalformedMultipart(withMap('not json', '{}'));
    await assertMalformedMultipart(withMap(JSON.stringify({ query: uploadQuery, variables: { f: null } }), '[]'));
    await assertMalformedMultipart(withMap(JSON.stringify({ query: uploadQuery, variables: { f: null } }), '{"0":"variables.f"}'));
    // Paths must name a null variable: no prototype, no other part of the operation.
    await assertMalformedMultipart(withMap(JSON.stringify({ query: uploadQuery, variables: { f: null } }), '{"0":["variables.__proto__.polluted"]}'));
    await assertMalformedMultipart(withMap(JSON.stringify({ query: uploadQuery, variables: { f: null } }), '{"0":["query"]}'));
    await assertMalformedMultipart(withMap(JSON.stringify({ query: uploadQuery, variables: {} }), '{"0":["variables.f"]}'));
    // A file named in map but never sent.
    const missing = await send(
      withMap(JSON.stringify({ query: uploadQuery, variables: { f: null } }), '{"0":["variables.f"]}'),
      'multipart/form-data; boundary=b',
      alice.headers,
    );
    assert.deepEqual([missing.status, onlyError(missing.body).errorCode], [400, 'MALFORMED_MULTIPART']);
    // More than one file.
    const two = await send(
      withMap(JSON.stringify({ query: uploadQuery, variables: { f: null, g: null } }), '{"0":["variables.f"],"1":["variables.g"]}'),
      'multipart/form-data; boundary=b',
    );
    assert.deepEqual([two.status, onlyError(two.body).errorCode], [413, 'TOO_MANY_FILES']);
    await assertAlive();
  });

  test('a request envelope of the wrong shape is a 400 naming the parameter, over POST and GET', async () => {
    const post = async (body: string, accept = '*/*') => {
      const response = await fetch(`${server.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body,
        signal: AbortSignal.timeout(answerWithinMs),
      });
      return { status: response.status, body: (await response.json()) as GraphqlBody };
    };
    const get = async (params: Record<string, string | string[]>, accept = '*/*') => {
      const search = new URLSearchParams();
      for (const [name, value] of Object.entries(params)) for (const one of [value].flat()) search.append(name, one);
      const response = await fetch(`${server.baseUrl}/graphql?${search}`, { headers: { accept }, signal: AbortSignal.timeout(answerWithinMs) });
      return { status: response.status, body: (await response.json()) as GraphqlBody };
    };
    const refused = (response: { status: number; body: GraphqlBody }, errorCode = 'BAD_REQUEST', message?: RegExp, status = 400) => {
      assert.equal(response.status, status, JSON.stringify(response.body));
      assert.equal('data' in response.body, false, 'refused before execution: no data entry');
      const error = onlyError(response.body);
      assert.equal(error.errorCode, errorCode);
      if (message) assert.match(error.message, message);
    };
    // A well-formed request whose document does not parse or does not pick one operation is a
    // GraphQL request error: 400 under application/graphql-response+json, 200 under legacy JSON.
    const documentRefused = async (send: (accept: string) => Promise<{ status: number; body: GraphqlBody }>, errorCode: string, message?: RegExp) => {
      refused(await send(modernAccept), errorCode, message, 400);
      refused(await send('application/json'), errorCode, message, 200);
    };
    const typename = '{ __typename }';
    for (const query of ['0', 'false', 'null', '[]', '{}']) refused(await post(`{"query":${query}}`), 'BAD_REQUEST', /'query' must be a string/);
    // Text that is JSON is not taken for a syntax tree (Mercurius would try).
    for (const query of ['0', 'true', '{}', '{"kind":"Document","definitions":[]}'])
      await documentRefused((accept) => post(JSON.stringify({ query }), accept), 'GRAPHQL_PARSE_FAILED');
    await documentRefused((accept) => post(JSON.stringify({ query: typename, operationName: 'X' }), accept), 'BAD_REQUEST', /no operation named "X"/);
    await documentRefused((accept) => get({ query: typename, operationName: 'X' }, accept), 'BAD_REQUEST', /no operation named "X"/);
    await documentRefused((accept) => get({ query: 'query A { __typename } query B { __typename }' }, accept), 'BAD_REQUEST', /operationName/);
    await documentRefused((accept) => get({ query: '{ __typename } { __typename }' }, accept), 'BAD_REQUEST', /operationName/);
    for (const name of ['5', 'true', '{}', '[]'])
      refused(await post(`{"query":"${typename}","operationName":${name}}`), 'BAD_REQUEST', /'operationName' must be a string or null/);
    for (const value of ['5', '"x"', '[]', 'true']) {
      refused(await post(`{"query":"${typename}","variables":${value}}`), 'BAD_REQUEST', /'variables' must be an object/);
      refused(await post(`{"query":"${typename}","extensions":${value}}`), 'BAD_REQUEST', /'extensions' must be an object/);
      refused(await get({ query: typename, variables: value }), 'BAD_REQUEST', /'variables' must be an object/);
      refused(await get({ query: typename, extensions: value }), 'BAD_REQUEST', /'extensions' must be an object/);
    }
    refused(await get({ query: typename, variables: '{not json' }), 'BAD_REQUEST', /JSON/);
    refused(await get({ query: [typename, typename] }), 'BAD_REQUEST', /given once/);
    refused(await post(`{"query":"${typename}","extensions":{"persistedQuery":5}}`), 'BAD_REQUEST', /persistedQuery/);
    refused(await post('{}'), 'BAD_REQUEST', /needs 'query'/);
    refused(await post('{}', modernAccept), 'BAD_REQUEST', /needs 'query'/);
    for (const body of ['[]', '5', 'null', '"s"']) refused(await post(body), 'BAD_REQUEST', /JSON object/);
    // null is allowed wherever the spec allows it.
    const nulls = await post(`{"query":"${typename}","operationName":null,"variables":null,"extensions":null}`);
    assert.deepEqual([nulls.status, nulls.body], [200, { data: { __typename: 'Query' } }]);
    await assertAlive();
  });

  test('a well-formed multipart request without files still runs, with or without a preamble', async () => {
    const plain = await send(multipart([operations('{ __typename }'), field('map', '{}')]), 'multipart/form-data; boundary=b');
    assert.deepEqual([plain.status, plain.body], [200, { data: { __typename: 'Query' } }]);
    // RFC 2046 §5.1.1: a preamble before the first boundary is ignored.
    const preamble = await send(`ignored preamble\r\n${multipart([operations('{ __typename }'), field('map', '{}')])}`, 'multipart/form-data; boundary=b');
    assert.deepEqual([preamble.status, preamble.body], [200, { data: { __typename: 'Query' } }]);
  });
});
