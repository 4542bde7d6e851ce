import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type AuditResult, serverAudits } from 'graphql-http';
import { type GraphqlBody, graphqlGetUrl, onlyError } from '../support/graphql.js';
import { startServer, type RunningServer } from '../support/server.js';

/**
 * The GraphQL-over-HTTP conformance audits of graphql-http, run against the real server with
 * introspection on (several audits ask for `__type`). Every MUST and SHOULD has to pass; a MAY
 * we deliberately do not follow is listed below with the reason.
 */
const answerWithinMs = 5000;

const modern = 'application/graphql-response+json; charset=utf-8';
const legacy = 'application/json; charset=utf-8';

/** MAY audits we do not follow, by id, and why. */
const declinedMays: Record<string, string> = {};

describe('GraphQL over HTTP: the graphql-http server audits', () => {
  let server: RunningServer | undefined;
  // Built before the server starts (node:test needs the tests up front); the URL is read per call.
  const audits = serverAudits({
    url: () => `${server!.baseUrl}/graphql`,
    fetchFn: (input: Parameters<typeof fetch>[0], init?: RequestInit) => fetch(input, { ...init, signal: AbortSignal.timeout(answerWithinMs) }),
  });

  before(async () => {
    server = await startServer({ env: { GRAPHQL_INTROSPECTION: 'true' } });
  });
  after(() => server?.cleanup());

  for (const audit of audits) {
    const declined = declinedMays[audit.id];
    it(`${audit.id} ${audit.name}`, { todo: declined }, async () => {
      const result = await audit.fn();
      assert.equal(result.status, 'ok', await explain(result));
    });
  }
});

/** A JSON POST with no Accept header at all (fetch would add `*\/*`). */
function postWithoutAccept(url: string, body: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, timeout: answerWithinMs }, (response) => {
      let text = '';
      response
        .setEncoding('utf8')
        .on('data', (chunk: string) => (text += chunk))
        .on('error', reject);
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'], body: text }));
    });
    sent.on('timeout', () => sent.destroy(new Error('no answer in time'))).on('error', reject);
    sent.end(body);
  });
}

async function explain(result: AuditResult): Promise<string> {
  if (result.status === 'ok') return 'ok';
  const body = await result.response.text().catch(() => '<unreadable>');
  return `${result.reason}\n${result.response.status} ${result.response.headers.get('content-type')}\n${body.slice(0, 500)}`;
}

describe('GraphQL over HTTP: our choices where the spec leaves room', () => {
  let server: RunningServer | undefined;
  before(async () => {
    server = await startServer({ env: { GRAPHQL_INTROSPECTION: 'true' } });
  });
  after(() => server?.cleanup());

  async function post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; body: GraphqlBody }> {
    const response = await fetch(`${server!.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(answerWithinMs),
    });
    return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as GraphqlBody };
  }

  it('the response type follows Accept: the newer type when named at the best quality, JSON for wildcards or no Accept', async () => {
    // fetch always sends an Accept (*/*): without one at all, over node:http.
    const bare = await postWithoutAccept(`${server!.baseUrl}/graphql`, JSON.stringify({ query: '{ __typename }' }));
    assert.deepEqual(bare, { status: 200, type: legacy, body: '{"data":{"__typename":"Query"}}' });
    const cases: [string, string][] = [
      ['*/*', legacy],
      ['application/*', legacy],
      ['nonsense', legacy], // no media range at all: disregarded
      ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', legacy], // a browser's navigation
      ['application/json', legacy],
      ['application/graphql-response+json', modern],
      ['application/json, application/graphql-response+json', modern], // equal quality: the newer type
      ['application/graphql-response+json, application/json;q=0.9', modern], // graphql-http's client
      ['application/graphql-response+json;q=0.5, application/json', legacy],
      ['application/graphql-response+json;q=0, */*', legacy],
      ['application/json;q=0, */*', modern], // the more specific range refuses JSON; the wildcard still admits the newer type
    ];
    for (const [accept, type] of cases) {
      const response = await post({ query: '{ __typename }' }, { accept });
      assert.deepEqual([response.status, response.type, response.body], [200, type, { data: { __typename: 'Query' } }], `Accept: ${accept}`);
    }
  });

  it('an Accept allowing neither type is 406 with a problem document, before the body is read or anything runs', async () => {
    for (const accept of ['text/html', 'application/xml, text/*', '*/*;q=0', 'application/json;q=0, application/graphql-response+json;q=0']) {
      const response = await fetch(graphqlGetUrl(server!.baseUrl, '{ __typename }'), { headers: { accept }, signal: AbortSignal.timeout(answerWithinMs) });
      assert.equal(response.status, 406, accept);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.equal(((await response.json()) as { code: string }).code, 'NOT_ACCEPTABLE');
    }
    // A multipart upload is refused before its body is read (nothing to drain, no hang).
    const multipart = await fetch(`${server!.baseUrl}/graphql`, {
      method: 'POST',
      headers: { accept: 'image/png', 'content-type': 'multipart/form-data; boundary=b', 'x-graphql-csrf': '1' },
      body: '--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"{ __typename }"}\r\n',
      signal: AbortSignal.timeout(answerWithinMs),
    });
    assert.equal(multipart.status, 406);
    await multipart.body?.cancel();
  });

  it('statuses by media type: request errors are 400 only to clients of the newer type; malformed requests are 4xx to both', async () => {
    type Case = { name: string; body: unknown; headers?: Record<string, string>; statuses: [legacy: number, modern: number]; errorCode: string };
    const cases: Case[] = [
      { name: 'parse failure', body: { query: '{' }, statuses: [200, 400], errorCode: 'GRAPHQL_PARSE_FAILED' },
      { name: 'validation failure', body: { query: '{ nope }' }, statuses: [200, 400], errorCode: 'GRAPHQL_VALIDATION_FAILED' },
      {
        name: 'too deep',
        body: { query: '{ collection(id: "x") { images { collections { images { id } } } } }' },
        statuses: [200, 400],
        errorCode: 'QUERY_TOO_DEEP',
      },
      { name: 'no such operation', body: { query: 'query A { __typename }', operationName: 'B' }, statuses: [200, 400], errorCode: 'BAD_REQUEST' },
      {
        name: 'variable coercion',
        body: { query: 'query($id: ID!) { image(id: $id) { id } }', variables: { id: null } },
        statuses: [200, 400],
        errorCode: 'BAD_USER_INPUT',
      },
      {
        name: 'unknown persisted query',
        body: { extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } },
        statuses: [200, 400],
        errorCode: 'PERSISTED_QUERY_NOT_FOUND',
      },
      { name: 'malformed JSON', body: '{"query":', statuses: [400, 400], errorCode: 'MALFORMED_JSON' },
      { name: 'invalid parameter', body: { query: '{ __typename }', variables: [7] }, statuses: [400, 400], errorCode: 'BAD_REQUEST' },
      {
        name: 'CSRF',
        body: JSON.stringify({ query: '{ __typename }' }),
        headers: { 'content-type': 'text/plain' },
        statuses: [400, 400],
        errorCode: 'CSRF_PREVENTED',
      },
    ];
    for (const { name, body, headers = {}, statuses, errorCode } of cases) {
      for (const [i, accept] of ['application/json', 'application/graphql-response+json'].entries()) {
        const response = await post(body, { accept, ...headers });
        assert.equal(response.status, statuses[i], `${name}, ${accept}: ${JSON.stringify(response.body)}`);
        assert.equal(response.type, i ? modern : legacy, name);
        assert.equal('data' in response.body, false, `${name}: refused before execution, so no data entry`);
        assert.equal(onlyError(response.body).errorCode, errorCode, name);
      }
    }
    // A field error during execution is 200 with data to both.
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const response = await post({ query: 'mutation { createCollection(name: "x") { id } }' }, { accept });
      assert.equal(response.status, 200);
      assert.equal(response.body.data, null);
      assert.equal(onlyError(response.body).code, 'UNAUTHENTICATED');
    }
    // A mutation over GET is 405 whatever the type (the spec's MUST).
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const response = await fetch(graphqlGetUrl(server!.baseUrl, 'mutation { createCollection(name: "x") { id } }'), {
        headers: { accept },
        signal: AbortSignal.timeout(answerWithinMs),
      });
      assert.deepEqual([response.status, response.headers.get('allow')], [405, 'POST']);
      assert.equal(onlyError((await response.json()) as GraphqlBody).errorCode, 'METHOD_NOT_ALLOWED');
    }
  });
});
