/**
 * `node --import tsx bench/feed/graphql-vs-postgraphile.ts [--first 20,100] [--pairs 5] [--seconds 5] [--pool 10] [--before <checkout>]`:
 * imagegram's GraphQL feed, executed (never from the page cache), against PostGraphile 5 (amber
 * preset) on the same PostgreSQL copy of the seeded feed (100k posts, 1M comments), the same
 * pool size, the same rows and fields. Flat out (autocannon, 10 connections) in interleaved A/B
 * pairs, the order alternating each pair; reports each side's req/s, the ratio of the medians and
 * the median of the per-pair ratios, and CPU per request of the server process and of the
 * PostgreSQL backends serving it.
 *
 * PostGraphile is a bench-only dependency with its own lockfile in bench/postgraphile, installed
 * here on first use (`npm ci --prefix bench/postgraphile`), never by the project's `npm ci`.
 * Set BENCH_POSTGRES_DB to seed and copy a database of your own (default `imagegram_bench`).
 * `--before <dir>`: a third side, imagegram served from another checkout (e.g. `git worktree add
 * /tmp/before main`, node_modules linked), in the same interleaved rounds: a change's before/after
 * ratios come from one window of the machine's load, not two.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBenchServer } from '../imagegram-server.js';
import { readCpuSeconds } from '../process-stats.js';
import { fmt, median } from '../stats.js';
import { postgresTarget } from './feed-target.js';
import { autocannonFlatOut } from './load.js';

const { values } = parseArgs({
  options: {
    first: { type: 'string', default: '20,100' },
    pairs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    pool: { type: 'string', default: '10' },
    before: { type: 'string' },
  },
});
const pageSizes = values.first.split(',').map(Number);
const pairs = Number(values.pairs);
const seconds = Number(values.seconds);
const poolSize = Number(values.pool);
const log = (message: string): void => void process.stderr.write(`${message}\n`);
const postgraphileDir = fileURLToPath(new URL('../postgraphile/', import.meta.url));

/**
 * The feed as each server spells it: the page by commentCount desc then id desc (newest first),
 * each post with its author, image and last 2 comments (newest first) with their authors, an
 * edge cursor per post, and whether there is a next page. imagegram's `id` is PostGraphile's
 * `rowId` (its `id` is a global node id); imagegram's image `url` (derived from the hash)
 * stands against PostGraphile's `sha256`, and its ISO `createdAt` against PostGraphile's bigint
 * text: the same rows and fields, answers of similar size (printed below).
 */
const imagegramQuery = (first: number) => `{ posts(first: ${first}) { edges { node { id caption commentCount createdAt author { id username }
  image { id url width height } lastComments { id body createdAt author { id username } } } cursor }
  pageInfo { hasNextPage endCursor } } }`;
const postgraphileQuery = (
  first: number,
) => `{ allPosts(first: ${first}, orderBy: [COMMENT_COUNT_DESC, ROW_ID_DESC]) { edges { node { rowId caption commentCount createdAt
  userByAuthorId { rowId username } imageByImageId { rowId sha256 width height }
  commentsByPostId(first: 2, orderBy: [ROW_ID_DESC]) { nodes { rowId body createdAt userByAuthorId { rowId username } } } } cursor }
  pageInfo { hasNextPage endCursor } } }`;

interface Side {
  name: string;
  baseUrl: string;
  pid: number;
  path(first: number): string;
  /** imagegram: a Cookie header, so the answer is executed, never taken from the page cache. */
  headers?: Record<string, string>;
  /** Post ids of a page, in order, from an answer. */
  ids(body: unknown): string[];
}

if (!existsSync(`${postgraphileDir}node_modules`)) {
  log('installing PostGraphile into bench/postgraphile (npm ci, once) …');
  execFileSync('npm', ['ci', '--prefix', postgraphileDir, '--no-audit', '--no-fund'], { stdio: ['ignore', 'inherit', 'inherit'] });
}

const target = await postgresTarget(log);
const cleanups: (() => Promise<void>)[] = [() => target.dispose()];
try {
  const imagegram = await startBenchServer(target.serverEnv);
  cleanups.unshift(() => imagegram.cleanup());
  const postgraphile = await startPostgraphile(target.serverEnv.DATABASE_URL!, poolSize);
  cleanups.unshift(() => postgraphile.stop());
  const imagegramSide = (name: string, server: { baseUrl: string; pid: number }): Side => ({
    name,
    baseUrl: server.baseUrl,
    pid: server.pid,
    path: (first) => `/graphql?query=${encodeURIComponent(imagegramQuery(first))}`,
    headers: { cookie: 'bench=uncached' },
    ids: (body) => (body as { data: { posts: { edges: { node: { id: string } }[] } } }).data.posts.edges.map((edge) => edge.node.id),
  });
  const sides: Side[] = [
    imagegramSide('imagegram (executed)', imagegram),
    {
      name: 'PostGraphile 5.1.5 (amber)',
      baseUrl: postgraphile.baseUrl,
      pid: postgraphile.pid,
      path: (first) => `/graphql?query=${encodeURIComponent(postgraphileQuery(first))}`,
      ids: (body) => (body as { data: { allPosts: { edges: { node: { rowId: string } }[] } } }).data.allPosts.edges.map((edge) => edge.node.rowId),
    },
  ];

  if (values.before !== undefined) {
    const before = await startBenchServer(target.serverEnv, values.before);
    cleanups.unshift(() => before.cleanup());
    sides.push(imagegramSide(`imagegram before (${values.before})`, before));
  }

  const sections: string[] = [];
  for (const first of pageSizes) {
    // Both must answer the same page without errors before they are timed.
    const bytes = new Map<Side, number>();
    const pages = new Map<Side, string>();
    for (const side of sides) {
      const response = await fetch(`${side.baseUrl}${side.path(first)}`, { headers: side.headers });
      const text = await response.text();
      if (response.status !== 200 || text.includes('"errors"')) throw new Error(`${side.name}: ${response.status} ${text.slice(0, 300)}`);
      bytes.set(side, Buffer.byteLength(text));
      pages.set(side, side.ids(JSON.parse(text)).join(','));
    }
    if (sides.some((side) => pages.get(side) !== pages.get(sides[0]!))) throw new Error(`first: ${first}: the servers answered different pages`);

    const rates = new Map<Side, number[]>(sides.map((side) => [side, []]));
    const cpuPerRequest = new Map<Side, number[]>(sides.map((side) => [side, []]));
    const databaseCpuPerRequest = new Map<Side, number[]>(sides.map((side) => [side, []]));
    const ratios: number[] = [];
    const beforeRatios: number[] = [];
    for (let pair = 0; pair < pairs; pair++) {
      // Alternating the order spreads warm-up and neighbours' noise over both alike.
      const order = pair % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        log(`  first: ${first}, pair ${pair + 1}/${pairs}: ${side.name} flat out for ${seconds} s …`);
        const cpuBefore = readCpuSeconds(side.pid);
        const databaseBefore = await databaseCpu();
        const result = await autocannonFlatOut(side.baseUrl, side.path(first), seconds, 10, side.headers);
        const cpu = readCpuSeconds(side.pid) - cpuBefore;
        const databaseCpuSeconds = sumCpu(await databaseCpu(), databaseBefore);
        if (result.errors + result.non2xx > 0) throw new Error(`${side.name}: ${result.errors} errors, ${result.non2xx} non-2xx`);
        rates.get(side)!.push(result.rate);
        cpuPerRequest.get(side)!.push((cpu * 1e6) / (result.rate * seconds));
        databaseCpuPerRequest.get(side)!.push((databaseCpuSeconds * 1e6) / (result.rate * seconds));
      }
      ratios.push(rates.get(sides[0]!)!.at(-1)! / rates.get(sides[1]!)!.at(-1)!);
      if (sides[2]) beforeRatios.push(rates.get(sides[2])!.at(-1)! / rates.get(sides[1]!)!.at(-1)!);
    }
    const [ours, theirs] = sides.map((side) => median(rates.get(side)!)) as [number, number];
    sections.push(
      `| feed \`first: ${first}\`, PostgreSQL, pool ${poolSize} (autocannon, 10 conn, ${seconds} s × ${pairs} interleaved pairs) | req/s per pair | median req/s | CPU µs/request (median): server / PostgreSQL | answer bytes |`,
      '|---|---|---|---|---|',
      ...sides.map(
        (side) =>
          `| ${side.name} | ${rates
            .get(side)!
            .map((value) => fmt(value, 0))
            .join(
              ', ',
            )} | ${fmt(median(rates.get(side)!), 0)} | ${fmt(median(cpuPerRequest.get(side)!), 0)} / ${fmt(median(databaseCpuPerRequest.get(side)!), 0)} | ${bytes.get(side)} |`,
      ),
      '',
      `imagegram / PostGraphile, first: ${first}: ratio of medians **${fmt(ours / theirs, 2)}**; per-pair ratios ${ratios.map((ratio) => fmt(ratio, 2)).join(', ')} (median ${fmt(median(ratios), 2)}).`,
      ...(sides[2]
        ? [
            `imagegram before / PostGraphile, first: ${first}: ratio of medians **${fmt(median(rates.get(sides[2])!) / theirs, 2)}**; per-pair ratios ${beforeRatios.map((ratio) => fmt(ratio, 2)).join(', ')} (median ${fmt(median(beforeRatios), 2)}).`,
          ]
        : []),
      '',
    );
  }
  process.stdout.write(`${sections.join('\n')}`);
} finally {
  for (const cleanup of cleanups) await cleanup();
}

/**
 * CPU seconds used so far by each PostgreSQL backend connected to the run's database. Only the
 * side under load is querying, so a run's growth is that side's database work.
 */
async function databaseCpu(): Promise<Map<number, number>> {
  const cpu = new Map<number, number>();
  for (const pid of await target.databasePids()) {
    try {
      cpu.set(pid, readCpuSeconds(pid));
    } catch {
      // the backend exited meanwhile
    }
  }
  return cpu;
}

/** CPU seconds used between two readings; backends that appeared meanwhile count from zero. */
function sumCpu(after: Map<number, number>, before: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/** Spawns bench/postgraphile/server.mjs on a free loopback port; resolves once it serves. */
async function startPostgraphile(databaseUrl: string, pool: number): Promise<{ baseUrl: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [`${postgraphileDir}server.mjs`, databaseUrl, String(port), String(pool)], {
    cwd: postgraphileDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => void (stderr = `${stderr}${chunk}`.slice(-4_000)));
  try {
    await new Promise<void>((resolve, reject) => {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk;
        if (stdout.includes('listening')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`PostGraphile exited (${code}) before serving: ${stderr}`)));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  // Keep draining its output (it logs masked errors) so a full pipe never blocks it.
  child.stdout.resume();
  return { baseUrl: `http://127.0.0.1:${port}`, pid: child.pid!, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
