/**
 * Slowloris: hundreds of connections each sending a request head one byte at a time, never
 * finishing it. The server must keep answering everyone else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Arena } from './support/arena.js';
import { TricklingClient } from './support/raw-http.js';

const connections = 300;
/** Bytes each connection has trickled before the normal requests are sent. */
const bytesBeforeProbe = 20;

describe('slowloris', () => {
  let arena: Arena;
  const clients: TricklingClient[] = [];
  let ticker: NodeJS.Timeout | undefined;
  before(async () => {
    arena = await Arena.open('slowloris');
  });
  after(async () => {
    clearInterval(ticker);
    for (const client of clients) client.close();
    await arena?.close();
  });

  test(`${connections} connections sending headers a byte at a time do not stop normal requests`, async (t) => {
    const head = Buffer.from(`GET /posts HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\nAccept: */*\r\nX-Padding: ${'p'.repeat(200)}\r\n\r\n`);
    for (let i = 0; i < connections; i++) clients.push(await TricklingClient.open(arena.host, head));
    ticker = setInterval(() => {
      for (const client of clients) client.trickle();
    }, 20);
    // Condition, not duration: every connection has sent part of its head (or been cut off).
    await waitFor(() => clients.every((client) => client.closedByServer || client.bytesSent >= bytesBeforeProbe));

    const answers = await Promise.all([
      arena.send({ method: 'GET', path: '/healthz', label: 'GET /healthz during slowloris' }),
      arena.send({ method: 'GET', path: '/posts?limit=5', label: 'GET /posts during slowloris' }),
      arena.send({
        method: 'POST',
        path: `/posts/${arena.world.postIds[0]}/comments`,
        headers: { ...arena.world.alice.headers, 'content-type': 'application/json' },
        body: '{"body":"still here"}',
        label: 'POST comment during slowloris',
      }),
    ]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 201],
      'normal requests answered while the slow connections hang on',
    );
    const stillOpen = clients.filter((client) => !client.closedByServer).length;
    t.diagnostic(`slow connections still open when the normal requests were answered: ${stillOpen} of ${connections}`);
    // The deadline is part of arena.send's verdict below; here only that they were answered.
    clearInterval(ticker);
    await arena.verdict(t, null);
  });
});

/** Polls a condition; fails after 30 s so a broken run cannot hang. */
async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('slow connections did not get going within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
