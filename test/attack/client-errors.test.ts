import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../support/server.js';
import { rawExchange } from './support/raw-http.js';

// What Node's HTTP parser refuses never reaches a route. The answer must still be a problem
// document, and must say Connection: close: the server closes the socket, and a keep-alive client
// that is not told would send its next request on it and get ECONNRESET instead of an answer.
let server: RunningServer;
let target: { host: string; port: number };

before(async () => {
  server = await startServer();
  const url = new URL(server.baseUrl);
  target = { host: url.hostname, port: Number(url.port) };
});
after(() => server?.cleanup());

function headersOf(body: Buffer): string {
  return body.toString('latin1').split('\r\n\r\n')[0]!.toLowerCase();
}

test('headers over the limit: 431 problem+json with Connection: close', async () => {
  const request = Buffer.from(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
  const outcome = await rawExchange(target, request);
  assert.equal(outcome.status, 431, outcome.error);
  const head = headersOf(outcome.body!);
  assert.match(head, /\r\nconnection: close/);
  assert.match(head, /\r\ncontent-type: application\/problem\+json/);
  assert.match(outcome.body!.toString('latin1'), /"code":"HEADERS_TOO_LARGE"/);
});

test('a request line that is not HTTP: 400 problem+json with Connection: close', async () => {
  const outcome = await rawExchange(target, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
  assert.equal(outcome.status, 400, outcome.error);
  const head = headersOf(outcome.body!);
  assert.match(head, /\r\nconnection: close/);
  assert.match(outcome.body!.toString('latin1'), /"code":"MALFORMED_HTTP"/);
});
