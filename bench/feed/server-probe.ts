/**
 * What the server side did during a load phase, to say what limits a missed target: CPU of each
 * process involved (server, database backends, this load generator), the server's event-loop
 * delay and GC time (its Prometheus metrics), and its own view of latency (its request log).
 */
import { readFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { readCpuSeconds } from '../process-stats.js';
import { percentile } from '../stats.js';

/** CPU used per wall second, as a share of one core (1.0 = one core busy). */
export interface CpuShares {
  server: number;
  /** PostgreSQL backends serving the server's pool (0 on SQLite, which runs in the server). */
  database: number;
  /** This process: the load generators. */
  bench: number;
  /** Everything else on the machine (other sessions' builds and tests): busy CPU minus the above. */
  others: number;
}

/** Starts measuring CPU; `databasePids()` is asked at the start and the end (pools connect lazily). */
export async function cpuMeter(serverPid: number, databasePids: () => Promise<number[]>): Promise<{ stop(): Promise<CpuShares> }> {
  const started = performance.now();
  const server = readCpuSeconds(serverPid);
  const bench = process.cpuUsage();
  const machine = machineBusySeconds();
  const databaseBefore = new Map((await databasePids()).map((pid) => [pid, safeCpu(pid)]));
  return {
    async stop() {
      const seconds = (performance.now() - started) / 1000;
      const benchUsed = process.cpuUsage(bench);
      let database = 0;
      for (const pid of await databasePids()) database += safeCpu(pid) - (databaseBefore.get(pid) ?? 0);
      const shares = {
        server: (readCpuSeconds(serverPid) - server) / seconds,
        database: database / seconds,
        bench: (benchUsed.user + benchUsed.system) / 1e6 / seconds,
      };
      const busy = (machineBusySeconds() - machine) / seconds;
      return { ...shares, others: Math.max(0, busy - shares.server - shares.database - shares.bench) };
    },
  };
}

/** CPU seconds the whole machine has been busy (all cores), from /proc/stat's first line. */
function machineBusySeconds(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
  const ticks = fields.slice(0, 8).map(Number);
  return ticks.reduce((sum, value, index) => (index === 3 || index === 4 ? sum : sum + value), 0) / 100;
}

function safeCpu(pid: number): number {
  try {
    return readCpuSeconds(pid);
  } catch {
    return 0; // the backend has gone
  }
}

/** Event-loop delay and GC time of the server since the previous scrape. */
export interface RuntimeReading {
  loopP99Ms: number;
  loopMaxMs: number;
  /** Cumulative GC pause seconds (all kinds): subtract two readings. */
  gcSeconds: number;
}

/**
 * One scrape of GET /metrics. prom-client resets its event-loop histogram on every scrape, so a
 * scrape right before a phase starts the window that the scrape after it reports; it samples
 * with a 10 ms timer, so an idle loop reads ≈ 10 ms.
 */
export async function scrapeRuntime(origin: string): Promise<RuntimeReading> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const sample = (name: string): number[] => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((match) => Number(match[1]));
  return {
    loopP99Ms: (sample('imagegram_nodejs_eventloop_lag_p99_seconds')[0] ?? Number.NaN) * 1000,
    loopMaxMs: (sample('imagegram_nodejs_eventloop_lag_max_seconds')[0] ?? Number.NaN) * 1000,
    gcSeconds: sample('imagegram_nodejs_gc_duration_seconds_sum').reduce((sum, value) => sum + value, 0),
  };
}

/** The server's request log from byte `from` on: Fastify's `responseTime` per request, by `METHOD /route`. */
export async function serverLatencies(logPath: string, from: number): Promise<Map<string, { p50: number; p99: number; count: number }>> {
  const to = (await stat(logPath)).size;
  const file = await open(logPath, 'r');
  const buffer = Buffer.alloc(to - from);
  try {
    await file.read(buffer, 0, buffer.length, from);
  } finally {
    await file.close();
  }
  const kindOf = new Map<string, string>();
  const times = new Map<string, number[]>();
  for (const line of buffer.toString('utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { reqId?: string; req?: { method: string; url: string }; responseTime?: number };
    if (entry.reqId === undefined) continue;
    if (entry.req)
      kindOf.set(entry.reqId, `${entry.req.method} ${entry.req.url.replace(/\?.*$/, '').replace(/\/posts\/[^/]+\/comments$/, '/posts/{id}/comments')}`);
    if (entry.responseTime !== undefined) {
      const kind = kindOf.get(entry.reqId) ?? 'unknown';
      const list = times.get(kind) ?? [];
      list.push(entry.responseTime);
      times.set(kind, list);
    }
  }
  return new Map([...times].map(([kind, values]) => [kind, { p50: percentile(values, 50), p99: percentile(values, 99), count: values.length }]));
}

/** The log's current size: the `from` of the next `serverLatencies`. */
export async function logSize(logPath: string): Promise<number> {
  return (await stat(logPath)).size;
}
