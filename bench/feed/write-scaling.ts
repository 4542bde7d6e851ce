/**
 * Writes from several server processes on one PostgreSQL database: `servers` imagegram processes
 * on a copy of the seeded 100k-post database, `clients` closed-loop connections spread evenly over
 * them (autocannon, no rate limit: each connection sends its next request when the last one
 * answered). Alternates two phases `rounds` times — comments flat out (`POST /posts/{id}/comments`
 * on 5,000 sampled posts, round robin) and feed reads flat out (`GET /posts`, the first page) — so
 * each figure comes with its spread on a shared, noisy machine.
 */
import autocannon, { type AutocannonRequest } from 'autocannon';
import pg from 'pg';
import { startBenchServer, type BenchServer } from '../imagegram-server.js';
import { readCpuSeconds } from '../process-stats.js';
import { fmt } from '../stats.js';
import type { FeedTarget } from './feed-target.js';

export interface WriteScalingOptions {
  servers: number;
  clients: number;
  rounds: number;
  seconds: number;
  log: (message: string) => void;
}

/** One flat-out phase, summed over the servers. */
export interface FlatOutFigures {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU ms per request (user + system, from /proc): the server processes together, PostgreSQL's backends of the run's database, this load generator. */
  cpuMsPerRequest: { servers: number; database: number; bench: number };
}

export interface WriteScalingFigures {
  comments: FlatOutFigures[];
  feed: FlatOutFigures[];
  /** What PostgreSQL backends of the run's database were waiting on, sampled during the comment phases. */
  waits: Array<{ wait: string; samples: number }>;
}

/** Runs the scenario against `target` (PostgreSQL). */
export async function writeScaling(target: FeedTarget, databaseUrl: string, options: WriteScalingOptions): Promise<WriteScalingFigures> {
  const servers: BenchServer[] = [];
  try {
    for (let i = 0; i < options.servers; i++) servers.push(await startBenchServer(target.serverEnv));
    let turn = 0;
    const comment =
      (server: BenchServer) =>
      (request: AutocannonRequest): AutocannonRequest => {
        const n = turn++;
        return {
          ...request,
          method: 'POST',
          path: `/posts/${target.postIds[n % target.postIds.length]}/comments`,
          headers: { ...request.headers, ...server.user.headers, 'content-type': 'application/json' },
          body: JSON.stringify({ body: `Bench comment ${n}: lovely light in this one` }),
        };
      };
    const feed =
      () =>
      (request: AutocannonRequest): AutocannonRequest => ({ ...request, method: 'GET', path: '/posts' });
    const perServer = Math.max(1, Math.floor(options.clients / options.servers));
    // Warm-up (JIT, pools, caches), not measured.
    await flatOut(servers, perServer, 2, comment);
    await flatOut(servers, perServer, 2, feed);
    const figures: WriteScalingFigures = { comments: [], feed: [], waits: [] };
    const waits = new Map<string, number>();
    for (let round = 1; round <= options.rounds; round++) {
      const sampler = await sampleWaits(databaseUrl, waits);
      // The sampler's own backend is not the servers' work.
      const serving = async () => (await target.databasePids()).filter((pid) => pid !== sampler.pid);
      const comments = await flatOut(servers, perServer, options.seconds, comment, serving);
      await sampler.stop();
      figures.comments.push(comments);
      const reads = await flatOut(servers, perServer, options.seconds, feed, target.databasePids);
      figures.feed.push(reads);
      options.log(
        `  round ${round}: ${fmt(comments.rate, 0)} comments/s (p50 ${fmt(comments.p50)} / p99 ${fmt(comments.p99)} ms, ${comments.errors + comments.non2xx} failed; CPU ms per comment: servers ${fmt(comments.cpuMsPerRequest.servers, 3)}, PostgreSQL ${fmt(comments.cpuMsPerRequest.database, 3)}, bench ${fmt(comments.cpuMsPerRequest.bench, 3)}), ${fmt(reads.rate, 0)} feed reads/s (p99 ${fmt(reads.p99)} ms; servers ${fmt(reads.cpuMsPerRequest.servers, 3)} CPU ms per read)`,
      );
    }
    figures.waits = [...waits].map(([wait, samples]) => ({ wait, samples })).sort((a, b) => b.samples - a.samples);
    return figures;
  } finally {
    for (const server of servers) await server.cleanup();
  }
}

/** `perServer` autocannon connections on each server at once, flat out for `seconds`; rates summed, latencies pooled. */
async function flatOut(
  servers: BenchServer[],
  perServer: number,
  seconds: number,
  setup: (server: BenchServer) => (request: AutocannonRequest) => AutocannonRequest,
  databasePids?: () => Promise<number[]>,
): Promise<FlatOutFigures> {
  const latencies: number[] = [];
  const serversCpu = () => servers.reduce((sum, server) => sum + readCpuSeconds(server.pid), 0);
  const databaseCpu = async () => {
    const byPid = new Map<number, number>();
    for (const pid of (await databasePids?.()) ?? []) {
      try {
        byPid.set(pid, readCpuSeconds(pid));
      } catch {
        // the backend has gone
      }
    }
    return byPid;
  };
  const databaseBefore = await databaseCpu();
  const serversBefore = serversCpu();
  const benchBefore = process.cpuUsage();
  let non2xx = 0;
  const results = await Promise.all(
    servers.map((server) => {
      const instance = autocannon({ url: server.baseUrl, connections: perServer, duration: seconds, requests: [{ setupRequest: setup(server) }] });
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        latencies.push(responseTime);
        if (statusCode < 200 || statusCode > 299) non2xx += 1;
      });
      return instance;
    }),
  );
  const serversUsed = serversCpu() - serversBefore;
  const benchUsed = process.cpuUsage(benchBefore);
  let databaseUsed = 0;
  // A backend that connected during the phase is left out (after the warm-up the pools are full); the caller leaves out the wait sampler's own backend.
  for (const [pid, seconds] of await databaseCpu()) databaseUsed += seconds - (databaseBefore.get(pid) ?? seconds);
  const requests = Math.max(1, latencies.length);
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
  return {
    rate: results.reduce((sum, result) => sum + result.requests.total / result.duration, 0),
    p50: at(50),
    p99: at(99),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    non2xx,
    cpuMsPerRequest: {
      servers: (serversUsed * 1000) / requests,
      database: (databaseUsed * 1000) / requests,
      bench: (((benchUsed.user + benchUsed.system) / 1e6) * 1000) / requests,
    },
  };
}

/** Samples pg_stat_activity of the run's database every 20 ms: wait event (or "CPU") per active backend. `pid`: the sampler's own backend. */
async function sampleWaits(url: string, into: Map<string, number>): Promise<{ pid: number; stop(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ wait: string }>(
        `select coalesce(wait_event_type || ':' || wait_event, 'CPU') as wait from pg_stat_activity
         where datname = current_database() and state = 'active' and pid <> pg_backend_pid()`,
      );
      for (const row of rows) into.set(row.wait, (into.get(row.wait) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await client.end();
  })();
  return {
    pid,
    async stop() {
      running = false;
      await loop;
    },
  };
}
