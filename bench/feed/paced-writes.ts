/**
 * `node --import tsx bench/feed/paced-writes.ts [--roots dirA,dirB] [--pairs 3] [--seconds 10]`:
 * comments on the embedded SQLite at a paced 1,000/s and the mixed load (1,000 feed reads/s
 * while 30 comments/s), against the bare Fastify route at the same paced rate (the generator's own
 * floor), with the server's event-loop delay p99. The comment rates also run against the bare
 * server's durable route (one commit's WAL bytes written and fdatasynced per request: the disk's
 * own floor), for the share of the gap no code above the disk can close. Each round runs every
 * checkout in `--roots` (default: this one) on a fresh copy of the feed seed, alternating their
 * order, so two versions of the code are compared interleaved on a loaded machine. Prints a
 * markdown table.
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBenchServer } from '../imagegram-server.js';
import { fmt, median } from '../stats.js';
import { startBareFeedServer } from './bare-feed-process.js';
import { firstPagePaths, roundRobinRequests } from './fixed-rate-phases.js';
import { type LoadResult, pacedAtRate, type RequestSpec } from './load.js';
import { copySqliteSeed, samplePostIds, sqliteSeed } from './seed-sqlite.js';
import { scrapeRuntime } from './server-probe.js';

const { values } = parseArgs({
  options: {
    roots: { type: 'string', default: fileURLToPath(new URL('../..', import.meta.url)) },
    pairs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
  },
});
const roots = values.roots.split(',').map((root) => resolve(root));
const rounds = Number(values.pairs);
const seconds = Number(values.seconds);
const log = (message: string): void => void process.stderr.write(`${message}\n`);

interface Row {
  round: number;
  root: string;
  load: number;
  bare: LoadResult;
  /** The bare durable route at 1,000 writes/s. */
  bareDurable: LoadResult;
  /** The bare routes under the mixed load: 1,000 reads/s and 30 durable writes/s. */
  bareMixedWrites: LoadResult;
  comments: LoadResult;
  commentsLoopP99: number;
  mixedFeed: LoadResult;
  mixedComments: LoadResult;
  mixedLoopP99: number;
}

const seed = await sqliteSeed(log);
const postIds = samplePostIds(seed.file, 5_000);
const rows: Row[] = [];

for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? roots : [...roots].reverse();
  for (const root of order) {
    const copy = await copySqliteSeed(seed);
    const server = await startBenchServer({ DATA_DIR: copy.dataDir }, root);
    try {
      const feedPaths = await firstPagePaths(server.baseUrl, 5);
      const page = await fetch(`${server.baseUrl}/posts`);
      const bare = await startBareFeedServer(await page.text(), page.headers.get('content-type') ?? 'application/json');
      try {
        const { nextFeed, nextComment } = roundRobinRequests(feedPaths, postIds, server.user.headers);
        const origin = server.baseUrl;
        const bareRead = (): RequestSpec => ({ method: 'GET', path: '/posts' });
        log(`round ${round + 1}, ${root}: warm-up …`);
        // Both servers, the same way: a cold (unoptimised) baseline would flatter the gap.
        await Promise.all([pacedAtRate(origin, nextFeed, 500, 2), pacedAtRate(origin, nextComment, 200, 2)]);
        await Promise.all([pacedAtRate(bare.origin, bareRead, 500, 2), pacedAtRate(bare.origin, nextComment, 200, 2)]);
        const load = loadavg()[0]!;
        log('  bare …');
        const bareResult = await pacedAtRate(bare.origin, bareRead, 1_000, seconds);
        log('  bare durable …');
        const bareDurable = await pacedAtRate(bare.origin, nextComment, 1_000, seconds);
        const [, bareMixedWrites] = await Promise.all([
          pacedAtRate(bare.origin, bareRead, 1_000, seconds),
          pacedAtRate(bare.origin, nextComment, 30, seconds, 10),
        ]);
        log('  comments …');
        await scrapeRuntime(origin);
        const comments = await pacedAtRate(origin, nextComment, 1_000, seconds);
        const commentsLoopP99 = (await scrapeRuntime(origin)).loopP99Ms;
        log('  mixed …');
        const [mixedFeed, mixedComments] = await Promise.all([
          pacedAtRate(origin, nextFeed, 1_000, seconds),
          pacedAtRate(origin, nextComment, 30, seconds, 10),
        ]);
        const mixedLoopP99 = (await scrapeRuntime(origin)).loopP99Ms;
        const row = {
          round: round + 1,
          root,
          load,
          bare: bareResult,
          bareDurable,
          bareMixedWrites,
          comments,
          commentsLoopP99,
          mixedFeed,
          mixedComments,
          mixedLoopP99,
        };
        log(`  ${summary(row)}`);
        rows.push(row);
      } finally {
        await bare.stop();
      }
    } finally {
      await server.cleanup();
      await copy.remove();
    }
  }
}

function errors(result: LoadResult): number {
  return result.errors + result.non2xx;
}

function summary(row: Row): string {
  return (
    `bare p99 ${fmt(row.bare.p99)} ms, durable ${fmt(row.bareDurable.p99)} / mixed ${fmt(row.bareMixedWrites.p99)} ms; comments p99 ${fmt(row.comments.p99)} ms @ ${fmt(row.comments.rate, 0)}/s, ${errors(row.comments)} errors, loop p99 ${fmt(row.commentsLoopP99)} ms; ` +
    `mixed reads p99 ${fmt(row.mixedFeed.p99)} / writes p99 ${fmt(row.mixedComments.p99)} ms, ${errors(row.mixedFeed) + errors(row.mixedComments)} errors, loop p99 ${fmt(row.mixedLoopP99)} ms`
  );
}

const lines = [
  '| round | checkout | load (1 min) | bare p99 | bare durable 1,000/s p99 | bare durable mixed p99 | comments 1,000/s p99 (errors) | loop p99 | mixed reads p99 | mixed writes p99 (errors) | loop p99 |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (row) =>
      `| ${row.round} | ${row.root} | ${fmt(row.load, 2)} | ${fmt(row.bare.p99)} | ${fmt(row.bareDurable.p99)} | ${fmt(row.bareMixedWrites.p99)} | ${fmt(row.comments.p99)} (${errors(row.comments)}) | ${fmt(row.commentsLoopP99)} | ` +
      `${fmt(row.mixedFeed.p99)} | ${fmt(row.mixedComments.p99)} (${errors(row.mixedFeed) + errors(row.mixedComments)}) | ${fmt(row.mixedLoopP99)} |`,
  ),
  '',
  ...roots.map((root) => {
    const mine = rows.filter((row) => row.root === root);
    const over = (pick: (row: Row) => number, floor = (row: Row) => row.bare.p99) => fmt(median(mine.map((row) => pick(row) - floor(row))));
    return (
      `${root}: median p99 over bare — comments ${over((r) => r.comments.p99)} ms, mixed reads ${over((r) => r.mixedFeed.p99)} ms, ` +
      `mixed writes ${over((r) => r.mixedComments.p99)} ms; over the bare durable route — comments ` +
      `${over(
        (r) => r.comments.p99,
        (r) => r.bareDurable.p99,
      )} ms, mixed writes ${over(
        (r) => r.mixedComments.p99,
        (r) => r.bareMixedWrites.p99,
      )} ms`
    );
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
