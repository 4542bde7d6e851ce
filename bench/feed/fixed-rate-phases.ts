/**
 * The fixed-rate runs against one server: `GET /posts` at 1,000 req/s, `POST …/comments` at
 * 1,000 req/s, and both mixed (1,000 reads/s while 30 comments/s are written) — each once with
 * autocannon's `overallRate` and once paced (see load.ts for why both), with the server-side
 * figures that explain a missed target.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { BenchServer } from '../imagegram-server.js';
import type { FeedTarget } from './feed-target.js';
import { autocannonAtRate, pacedAtRate, type LoadResult, type RequestSpec } from './load.js';
import { cpuMeter, logSize, scrapeRuntime, serverLatencies, type CpuShares } from './server-probe.js';

/** Which generator drove a phase. */
export type Generator = 'autocannon' | 'paced';

/** Everything measured over one phase. */
export interface PhaseFigures {
  phase: 'feed' | 'comments' | 'mixed';
  generator: Generator;
  /** Client-side results per request stream: `feed`, `comments` or both. */
  load: Partial<Record<'feed' | 'comments', LoadResult>>;
  cpu: CpuShares;
  loopP99Ms: number;
  loopMaxMs: number;
  gcMs: number;
  /** This process's own event-loop delay p99 (1 ms resolution): the load generators' lateness. */
  benchLoopP99Ms: number;
  /** Feed versions bumped (= post/comment writes) and, on PostgreSQL, feed pages rendered (cache misses). */
  versions: number;
  pageRenders: number;
  /** Fastify's own responseTime (from its log), by route: excludes time queued before the server read the request. */
  server: Map<string, { p50: number; p99: number; count: number }>;
}

export interface PhaseOptions {
  /** Seconds per phase (default 10). */
  seconds: number;
  log(message: string): void;
}

/** Runs the six fixed-rate phases: feed, comments, mixed × autocannon, paced. */
export async function fixedRatePhases(
  server: BenchServer,
  feedPaths: string[],
  target: Pick<FeedTarget, 'postIds' | 'databasePids' | 'feedCounters'>,
  options: PhaseOptions,
): Promise<PhaseFigures[]> {
  const { postIds } = target;
  const { seconds } = options;
  const { nextFeed, nextComment } = roundRobinRequests(feedPaths, postIds, server.user.headers);
  const origin = server.baseUrl;
  const measure = async (phase: PhaseFigures['phase'], generator: Generator, run: () => Promise<PhaseFigures['load']>): Promise<PhaseFigures> => {
    options.log(`  ${phase} (${generator}) …`);
    const from = await logSize(server.logPath);
    const counters = await target.feedCounters();
    const before = await scrapeRuntime(origin);
    const cpu = await cpuMeter(server.pid, () => target.databasePids());
    const benchLoop = monitorEventLoopDelay({ resolution: 1 });
    benchLoop.enable();
    const load = await run();
    benchLoop.disable();
    const shares = await cpu.stop();
    const after = await scrapeRuntime(origin);
    const countersAfter = await target.feedCounters();
    return {
      phase,
      generator,
      load,
      cpu: shares,
      versions: countersAfter.version - counters.version,
      pageRenders: countersAfter.pageRenders - counters.pageRenders,
      loopP99Ms: after.loopP99Ms,
      loopMaxMs: after.loopMaxMs,
      gcMs: (after.gcSeconds - before.gcSeconds) * 1000,
      benchLoopP99Ms: benchLoop.percentile(99) / 1e6,
      server: await serverLatencies(server.logPath, from),
    };
  };
  const at = (generator: Generator) => (generator === 'autocannon' ? autocannonAtRate : pacedAtRate);

  // Warm-up (JIT, caches, the pg pool): both routes at half rate, not measured.
  await Promise.all([pacedAtRate(origin, nextFeed, 500, 2), pacedAtRate(origin, nextComment, 200, 2)]);

  const figures: PhaseFigures[] = [];
  for (const generator of ['autocannon', 'paced'] as const) {
    figures.push(await measure('feed', generator, async () => ({ feed: await at(generator)(origin, nextFeed, 1_000, seconds) })));
  }
  for (const generator of ['autocannon', 'paced'] as const) {
    figures.push(await measure('comments', generator, async () => ({ comments: await at(generator)(origin, nextComment, 1_000, seconds) })));
  }
  for (const generator of ['autocannon', 'paced'] as const) {
    figures.push(
      await measure('mixed', generator, async () => {
        const [feed, comments] = await Promise.all([at(generator)(origin, nextFeed, 1_000, seconds), at(generator)(origin, nextComment, 30, seconds, 10)]);
        return { feed, comments };
      }),
    );
  }
  return figures;
}

/** The first page and the cursors of the next `pages - 1` (limit 20): real, signed cursors. */
export async function firstPagePaths(origin: string, pages: number): Promise<string[]> {
  const paths = ['/posts'];
  let cursor: string | null = null;
  for (let page = 1; page < pages; page++) {
    const response = await fetch(`${origin}${paths.at(-1)}`);
    if (response.status !== 200) throw new Error(`GET ${paths.at(-1)}: ${response.status} ${await response.text()}`);
    cursor = ((await response.json()) as { nextCursor: string | null }).nextCursor;
    if (cursor === null) break;
    paths.push(`/posts?cursor=${encodeURIComponent(cursor)}`);
  }
  return paths;
}

/** Round robin over the first pages' URLs, and comments over the sampled posts (already in random order). */
export function roundRobinRequests(
  feedPaths: readonly string[],
  postIds: readonly string[],
  userHeaders: Record<string, string>,
): { nextFeed: () => RequestSpec; nextComment: () => RequestSpec } {
  let feedTurn = 0;
  let commentTurn = 0;
  return {
    nextFeed: () => ({ method: 'GET', path: feedPaths[feedTurn++ % feedPaths.length]! }),
    nextComment: () => {
      const turn = commentTurn++;
      return {
        method: 'POST',
        path: `/posts/${postIds[turn % postIds.length]}/comments`,
        headers: { ...userHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ body: `Bench comment ${turn}: lovely light in this one` }),
      };
    },
  };
}
