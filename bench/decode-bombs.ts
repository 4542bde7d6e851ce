/**
 * `node --import tsx bench/decode-bombs.ts [--side 10000] [--rounds 1] [--budget <bytes>]`: fires
 * every kind of decode bomb (test/fixtures/decode-bombs.ts, `side`×`side` pixels, within the
 * 100 MP limit) at a real server at once, while another client polls GET /healthz one request
 * after another. Reports each upload's status, the server's RSS at rest and its peak (the kernel's
 * VmHWM, reset before the burst), and /healthz latency while the bombs decode.
 * Goals: peak RSS under the documented 512 MB ceiling; /healthz p99 ≤ 50 ms.
 */
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { uploadImage } from '../test/support/client.js';
import { decodeBombBytes, decodeBombKinds } from '../test/fixtures/decode-bombs.js';
import { startBenchServer } from './imagegram-server.js';
import { readMemory, resetPeak } from './process-stats.js';
import { fmt, max, median, percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    side: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '1' },
    budget: { type: 'string' },
    linger: { type: 'string', default: '0' },
  },
});
const side = Number(values.side);
const rounds = Number(values.rounds);

const bombs = await Promise.all(decodeBombKinds.map(async (kind) => ({ kind, bytes: await decodeBombBytes(kind, side) })));
const server = await startBenchServer(values.budget ? { DECODE_MEMORY_BYTES: values.budget } : {});
const MB = 1e6;
try {
  // One small upload first, so libraries are loaded and the resting RSS is a working server's.
  const warm = await uploadImage(server.baseUrl, server.user, bombs.find((b) => b.kind === 'bmp-rle4')!.bytes.subarray(0, 0));
  await warm.text();
  const atRest = readMemory(server.pid).rss;
  const exactPeak = resetPeak(server.pid);
  let sampledPeak = atRest;
  const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, readMemory(server.pid).rss)), 20);

  let bursting = true;
  const healthz: number[] = [];
  const poller = (async () => {
    while (bursting) {
      const start = performance.now();
      const response = await request(`${server.baseUrl}/healthz`);
      await response.body.text();
      healthz.push(performance.now() - start);
    }
  })();

  const started = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: rounds }, () => bombs)
      .flat()
      .map(async ({ kind, bytes }) => {
        const t = performance.now();
        const response = await uploadImage(server.baseUrl, server.user, bytes, `${kind}.bin`, 'application/octet-stream');
        const body = (await response.json()) as { code?: string; detail?: string };
        return { kind, status: response.status, code: body.code ?? '', detail: body.detail ?? '', seconds: (performance.now() - t) / 1000 };
      }),
  );
  const burstSeconds = (performance.now() - started) / 1000;
  bursting = false;
  await poller;
  clearInterval(sampler);
  const now = readMemory(server.pid);
  const peak = Math.max(sampledPeak, now.rss, exactPeak ? now.peak : 0);

  const lines = [
    `${bombs.length} bomb kinds × ${rounds} at ${side}×${side}, all at once; DECODE_MEMORY_BYTES=${values.budget ?? 'default'}; server pid ${server.pid}`,
    ...outcomes.map(
      (o) =>
        `  ${o.kind.padEnd(17)} ${o.status} ${o.code.padEnd(27)} ${fmt(o.seconds, 1, ' s').padStart(7)}  ${bombs.find((b) => b.kind === o.kind)!.bytes.length} bytes  ${o.detail.slice(0, 110)}`,
    ),
    `burst ${fmt(burstSeconds, 1)} s; server RSS at rest ${fmt(atRest / MB, 0)} MB, peak ${fmt(peak / MB, 0)} MB (${exactPeak ? 'VmHWM' : 'sampled'}), after ${fmt(now.rss / MB, 0)} MB`,
    `/healthz while decoding: n=${healthz.length} p50 ${fmt(median(healthz), 1)} ms, p99 ${fmt(percentile(healthz, 99), 1)} ms, max ${fmt(max(healthz), 1)} ms`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  // RSS a while later: memory a decoder freed but the allocator kept, or idle BMP threads (they exit after 30 s).
  const linger = Number(values.linger);
  if (linger > 0) {
    await new Promise((resolve) => setTimeout(resolve, linger * 1000));
    process.stdout.write(`RSS ${linger} s later: ${fmt(readMemory(server.pid).rss / MB, 0)} MB\n`);
  }
} finally {
  await server.cleanup();
}
