import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startBenchServer, type BenchServer } from './imagegram-server.js';
import { mainThreadReport } from './main-thread-report.js';
import { readThreadSchedule, type ThreadSchedule } from './process-stats.js';
import type { Scenario } from './scenario.js';
import { fmt, max, median, percentile, summarisePairs, type Pair, type ResultRow } from './stats.js';

const pingEveryMs = 5;
const idleSeconds = 1.5;
const p99TargetMs = 20;

/** One GET /healthz: when it was sent (performance.now()) and how long the answer took, in ms. */
interface Ping {
  sentAt: number;
  latency: number;
}

/** Sends GET /healthz every 5 ms while `until` is pending; also reports this process's own loop delay p99. */
async function pingWhile(pool: Pool, until: Promise<unknown>): Promise<{ pings: Ping[]; benchLoopP99: number }> {
  const pings: Ping[] = [];
  const outstanding = new Set<Promise<void>>();
  const benchLoop = monitorEventLoopDelay({ resolution: 1 });
  benchLoop.enable();
  const ping = (): void => {
    // Bounded so a stalled server cannot make the bench pile up requests without limit.
    if (outstanding.size >= 256) return;
    const sentAt = performance.now();
    const request: Promise<void> = pool
      .request({ path: '/healthz', method: 'GET' })
      .then((response) => response.body.text())
      .then(() => {
        pings.push({ sentAt, latency: performance.now() - sentAt });
      })
      .finally(() => outstanding.delete(request));
    outstanding.add(request);
  };
  const timer = setInterval(ping, pingEveryMs);
  ping();
  try {
    await until;
  } finally {
    clearInterval(timer);
    await Promise.all(outstanding);
    benchLoop.disable();
  }
  return { pings, benchLoopP99: benchLoop.percentile(99) / 1e6 };
}

/**
 * The server's own event-loop delay since the previous scrape (prom-client resets its histogram on
 * every scrape), p99 and max in ms. Node samples it with a 10 ms timer, so an idle loop reads ≈ 10.
 */
async function serverLoopDelay(server: BenchServer): Promise<{ p99: number; max: number }> {
  const p99 = 'imagegram_nodejs_eventloop_lag_p99_seconds';
  const maxDelay = 'imagegram_nodejs_eventloop_lag_max_seconds';
  const values = await server.metrics([p99, maxDelay]);
  return { p99: values[p99] * 1000, max: values[maxDelay] * 1000 };
}

/** Runs `task` and reports the server main thread's scheduling over it, per second of wall time. */
function scheduleOf<T>(server: BenchServer, task: () => Promise<T>): { result: Promise<T>; perSecond(): ThreadSchedule } {
  const before = readThreadSchedule(server.pid);
  const start = performance.now();
  let after: ThreadSchedule | undefined;
  let seconds = Number.NaN;
  const result = task().finally(() => {
    after = readThreadSchedule(server.pid);
    seconds = (performance.now() - start) / 1000;
  });
  return {
    result,
    perSecond: () => ({
      onCpuMs: (after!.onCpuMs - before.onCpuMs) / seconds,
      runQueueWaitMs: (after!.runQueueWaitMs - before.runQueueWaitMs) / seconds,
    }),
  };
}

const latencies = (pings: readonly Ping[]): number[] => pings.map((ping) => ping.latency);

/**
 * Scenario 3: event-loop delay as a client sees it — GET /healthz every 5 ms, p99 and max latency —
 * while a 12 MP and then a 100 MB 24-bit BMP (which libvips cannot read: decoded in JavaScript on a
 * worker thread) go through POST /images. Baseline: the same pings against the same server while
 * it is idle.
 * Pings are also split by phase: sent while the body was still streaming in, or after (decode,
 * render, store, commit).
 */
export const eventLoopDelay: Scenario = {
  name: 'event-loop',
  async run(context) {
    const images = [
      { name: '12 MP BMP', image: await context.files.bmp12mp() },
      // The case: a real 100 MB file, decoded (the streaming decoder holds a few MB of it).
      { name: '100 MB BMP (6666×5000)', image: await context.files.bmp(6666, 5000) },
    ];
    const watch = fileURLToPath(new URL('./main-thread-watch.mjs', import.meta.url));
    const server = await startBenchServer({
      MAX_UPLOAD_BYTES: String(110 * 1_000_000),
      ...(context.diagnose ? { NODE_OPTIONS: `--import ${watch}` } : {}),
    });
    const uploadWindows: [number, number][] = [];
    const pool = new Pool(server.baseUrl, { connections: 16 });
    try {
      let n = 0;
      const rows: ResultRow[] = [];
      for (const { name, image } of images) {
        context.log(`${name}: ${fmt(image.size / 1e6)} MB`);
        await server.upload(image, ++n); // warm-up: starts the BMP decoder threads, loads code
        const p99Pairs: Pair[] = [];
        const serverP99: Pair[] = [];
        const maxima: number[] = [];
        const uploadSeconds: number[] = [];
        const serverMax: number[] = [];
        const benchLoop: number[] = [];
        const schedule: Pair[] = [];
        const onCpu: Pair[] = [];
        const receiving: Ping[] = [];
        const processing: Ping[] = [];
        for (let i = 0; i < context.pairs; i++) {
          await serverLoopDelay(server); // resets the server's histogram
          const idleSchedule = scheduleOf(server, () => pingWhile(pool, sleep(idleSeconds * 1000)));
          const idle = await idleSchedule.result;
          const idleLag = await serverLoopDelay(server);
          let bodySentAt = Number.POSITIVE_INFINITY;
          const upload = server.upload(image, ++n, () => {
            bodySentAt = performance.now();
          });
          const windowStart = Date.now();
          const busySchedule = scheduleOf(server, () => pingWhile(pool, upload));
          const busy = await busySchedule.result;
          const { seconds } = await upload;
          uploadWindows.push([windowStart, Date.now()]);
          const [idleThread, busyThread] = [idleSchedule.perSecond(), busySchedule.perSecond()];
          schedule.push({ baseline: idleThread.runQueueWaitMs, imagegram: busyThread.runQueueWaitMs });
          onCpu.push({ baseline: idleThread.onCpuMs, imagegram: busyThread.onCpuMs });
          const lag = await serverLoopDelay(server);
          for (const ping of busy.pings) (ping.sentAt < bodySentAt ? receiving : processing).push(ping);
          p99Pairs.push({ baseline: percentile(latencies(idle.pings), 99), imagegram: percentile(latencies(busy.pings), 99) });
          serverP99.push({ baseline: idleLag.p99, imagegram: lag.p99 });
          maxima.push(max(latencies(busy.pings)));
          uploadSeconds.push(seconds);
          serverMax.push(lag.max);
          benchLoop.push(busy.benchLoopP99);
          context.log(
            `  pair ${i + 1}: idle p99 ${fmt(p99Pairs[i]!.baseline)} ms, during upload p99 ${fmt(p99Pairs[i]!.imagegram)} ms max ${fmt(maxima[i]!)} ms ` +
              `(${busy.pings.length} pings), upload ${fmt(seconds, 2)} s, server lag p99 ${fmt(lag.p99)} max ${fmt(lag.max)} ms, bench loop p99 ${fmt(busy.benchLoopP99)} ms, ` +
              `server main thread per s: on CPU ${fmt(onCpu[i]!.imagegram, 0)} ms, waiting for a CPU ${fmt(schedule[i]!.imagegram, 0)} ms`,
          );
        }
        context.log(`  this process's own event-loop delay p99 during uploads: ${fmt(median(benchLoop))} ms (part of every latency above)`);
        const summary = summarisePairs(p99Pairs);
        const serverSummary = summarisePairs(serverP99);
        const label = `GET /healthz every ${pingEveryMs} ms during a ${name} upload (${fmt(image.size / 1e6)} MB)`;
        const all = [...receiving, ...processing];
        rows.push(
          {
            scenario: label,
            metric: 'latency p99, ms',
            ratio: fmt(summary.ratio, 2),
            imagegram: fmt(summary.imagegram, 1, 'ms'),
            baseline: `${fmt(summary.baseline, 1, 'ms')} (same server, idle)`,
            target: `≤ ${p99TargetMs} ms`,
            met: summary.imagegram <= p99TargetMs,
          },
          {
            scenario: `${label}: all ${all.length} pings pooled — while the body streams in (${receiving.length}) / after (${processing.length})`,
            metric: 'latency p99, ms',
            ratio: '–',
            imagegram: `${fmt(percentile(latencies(all), 99), 1)} — ${fmt(percentile(latencies(receiving), 99), 1)} / ${fmt(percentile(latencies(processing), 99), 1)}`,
            baseline: '–',
            target: '',
            met: null,
          },
          {
            scenario: label,
            metric: 'latency max, ms: median of pairs (worst)',
            ratio: '–',
            imagegram: `${fmt(median(maxima), 1)} (${fmt(max(maxima), 1)})`,
            baseline: '–',
            target: '',
            met: null,
          },
          {
            scenario: label,
            metric: "server's own event-loop delay p99 (max), ms — prom-client, 10 ms sampling: idle ≈ 10",
            ratio: fmt(serverSummary.ratio, 2),
            imagegram: `${fmt(serverSummary.imagegram)} (${fmt(median(serverMax))})`,
            baseline: `${fmt(serverSummary.baseline)} (idle)`,
            target: '',
            met: null,
          },
          {
            scenario: `${label}: server main thread, per second of wall time`,
            metric: 'ms on a CPU / ms runnable but waiting for a CPU (schedstat)',
            ratio: '–',
            imagegram: `${fmt(median(onCpu.map((p) => p.imagegram)), 0)} / ${fmt(median(schedule.map((p) => p.imagegram)), 0)}`,
            baseline: `${fmt(median(onCpu.map((p) => p.baseline)), 0)} / ${fmt(median(schedule.map((p) => p.baseline)), 0)} (idle, pinged)`,
            target: '',
            met: null,
          },
          { scenario: label, metric: 'upload total time, s', ratio: '–', imagegram: fmt(median(uploadSeconds), 2, 's'), baseline: '–', target: '', met: null },
        );
      }
      return { rows, ...(context.diagnose ? { section: await mainThreadReport(server.logPath, uploadWindows) } : {}) };
    } finally {
      await pool.close();
      await server.cleanup();
    }
  },
};
