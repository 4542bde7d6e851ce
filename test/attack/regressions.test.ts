/**
 * Minimal repros of what the fuzzers found in the REST routes, kept as plain examples so each fix
 * stays fixed even if a fuzzer's seed stops reaching it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { problemOf, signUpAndLogIn, type TestUser } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';

describe('requests the fuzzers found answered with a 5xx', () => {
  let server: RunningServer;
  let alice: TestUser;
  let linkPath: string;
  before(async () => {
    server = await startServer();
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
    const link = await fetch(`${server.baseUrl}/admin/upload-links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-access-token': server.adminToken },
      body: '{"sinceNow":"PT1H"}',
    });
    linkPath = ((await link.json()) as { relativePath: string }).relativePath;
  });
  after(async () => {
    await server?.cleanup();
  });

  // RFC 2046 §5.1.1 caps a boundary at 70 characters; busboy throws a plain Error past 256.
  for (const route of ['/images', '/posts', 'link'] as const) {
    test(`a multipart boundary longer than 256 characters is a 400 on POST ${route}`, async () => {
      const boundary = 'x'.repeat(300);
      const response = await fetch(`${server.baseUrl}${route === 'link' ? linkPath : route}`, {
        method: 'POST',
        headers: { ...alice.headers, 'content-type': `multipart/form-data; boundary=${boundary}` },
        body: `--${boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\nhi\r\n--${boundary}--\r\n`,
      });
      assert.equal(response.status, 400);
      assert.equal((await problemOf(response)).code, 'MALFORMED_MULTIPART');
    });
  }

  // busboy skipped a part without Content-Disposition with a resume() that flows only on the next
  // tick; one bigger than 16 KiB, ending in the same write, stalled the parser and the request
  // hung until the socket timed out (patched in patches/@fastify+busboy+*.patch).
  for (const route of ['/images', '/posts', 'link'] as const) {
    test(`a part without Content-Disposition larger than 16 KiB is skipped, not a hung request, on POST ${route}`, async () => {
      const response = await fetch(`${server.baseUrl}${route === 'link' ? linkPath : route}`, {
        method: 'POST',
        headers: { ...alice.headers, 'content-type': 'multipart/form-data; boundary=b' },
        body: `--b\r\nX-Other: 1\r\n\r\n${'a'.repeat(20_000)}\r\n--b--\r\n`,
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(response.status, 400);
      assert.equal((await problemOf(response)).code, 'IMAGE_MISSING');
    });
  }

  // GraphiQL's static files were served inside the GraphQL scope, whose error formatter took
  // @fastify/send's 416 for a bug of ours. They are our own routes now; the answer must stay a 416.
  test('an unsatisfiable Range on a GraphiQL asset is a 416, not a 500', async () => {
    // Headers as the fuzzer sent them.
    const response = await fetch(`${server.baseUrl}/graphiql/assets/graphiql.min.js`, {
      headers: { range: 'bytes=-0', 'if-none-match': '"x"', accept: 'a/b;q=2' },
    });
    assert.equal(response.status, 416);
    assert.equal((await problemOf(response)).code, 'RANGE_NOT_SATISFIABLE');
  });
});
