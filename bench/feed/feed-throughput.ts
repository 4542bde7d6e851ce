/**
 * Unconstrained `GET /posts?limit=20` throughput as a ratio to a bare Fastify route sending the
 * same bytes (target ≥ 0.5), in alternating A/B pairs, bare first, median pair ratio.
 */
import type { BenchServer } from '../imagegram-server.js';
import { readCpuSeconds } from '../process-stats.js';
import { median, summarisePairs, type Pair } from '../stats.js';
import { startBareFeedServer } from './bare-feed-process.js';
import { autocannonAtRate, autocannonFlatOut, pacedAtRate, type LoadResult } from './load.js';

export const feedPagePath = '/posts?limit=20';

/** The pairs' summary, plus what each request cost in CPU on each side. */
export interface ThroughputFigures {
  ratio: number;
  ratios: number[];
  /** Median req/s of each side. */
  imagegram: number;
  baseline: number;
  /** Median server CPU µs per request (all threads), and this process's (autocannon) per request. */
  imagegramCpuUs: number;
  baselineCpuUs: number;
  clientCpuUs: number;
  /** Bytes of the page both sides send. */
  bodyBytes: number;
  errors: number;
  /**
   * The bare route at the fixed 1,000 req/s of the latency targets, with both generators: the
   * floor that the load generator and this machine put under imagegram's figures.
   */
  bareAtRate: { autocannon: LoadResult; paced: LoadResult };
}

export interface ThroughputOptions {
  pairs: number;
  /** Seconds per side of a pair. */
  seconds: number;
  /** Connections autocannon keeps busy. */
  connections: number;
  /** Seconds of each bare fixed-rate calibration run. */
  rateSeconds: number;
  log(message: string): void;
}

/** Captures imagegram's page, starts the bare route with it, and measures `pairs` A/B pairs. */
export async function feedThroughput(server: BenchServer, options: ThroughputOptions): Promise<ThroughputFigures> {
  const captured = await fetch(`${server.baseUrl}${feedPagePath}`);
  const body = await captured.text();
  const contentType = captured.headers.get('content-type');
  if (captured.status !== 200 || contentType === null) throw new Error(`GET ${feedPagePath}: ${captured.status}`);
  const bare = await startBareFeedServer(body, contentType);
  try {
    const check = await fetch(`${bare.origin}${feedPagePath}`);
    if ((await check.text()) !== body || check.headers.get('content-type') !== contentType) throw new Error('the bare route does not send the same bytes');
    const pairs: Pair[] = [];
    const cpu = { imagegram: [] as number[], baseline: [] as number[], client: [] as number[] };
    let errors = 0;
    const side = async (origin: string, pid: number, serverCpu: number[]): Promise<number> => {
      const serverBefore = readCpuSeconds(pid);
      const clientBefore = process.cpuUsage();
      const result = await autocannonFlatOut(origin, feedPagePath, options.seconds, options.connections);
      const requests = result.rate * options.seconds;
      serverCpu.push(((readCpuSeconds(pid) - serverBefore) * 1e6) / requests);
      const client = process.cpuUsage(clientBefore);
      cpu.client.push((client.user + client.system) / requests);
      errors += result.errors + result.non2xx;
      return result.rate;
    };
    // Unmeasured warm-up of both sides.
    await autocannonFlatOut(bare.origin, feedPagePath, 1, options.connections);
    await autocannonFlatOut(server.baseUrl, feedPagePath, 1, options.connections);
    for (let pair = 0; pair < options.pairs; pair++) {
      const baseline = await side(bare.origin, bare.pid, cpu.baseline);
      const imagegram = await side(server.baseUrl, server.pid, cpu.imagegram);
      pairs.push({ baseline, imagegram });
      options.log(`  pair ${pair + 1}: bare ${baseline.toFixed(0)} req/s, imagegram ${imagegram.toFixed(0)} req/s`);
    }
    const summary = summarisePairs(pairs);
    options.log('  bare route at 1,000 req/s …');
    const nextBare = () => ({ method: 'GET' as const, path: feedPagePath });
    const bareAtRate = {
      autocannon: await autocannonAtRate(bare.origin, nextBare, 1_000, options.rateSeconds),
      paced: await pacedAtRate(bare.origin, nextBare, 1_000, options.rateSeconds),
    };
    return {
      bareAtRate,
      ...summary,
      imagegramCpuUs: median(cpu.imagegram),
      baselineCpuUs: median(cpu.baseline),
      clientCpuUs: median(cpu.client),
      bodyBytes: Buffer.byteLength(body),
      errors,
    };
  } finally {
    await bare.stop();
  }
}
