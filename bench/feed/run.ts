/**
 * `node --import tsx bench/feed/run.ts [--db sqlite|postgres|both] [--pairs 5] [--seconds 10]`:
 * the feed and comments budgets on 100k posts and 1M comments, on SQLite
 * (embedded) and PostgreSQL. Seeds once into `.bench-data/` and database `imagegram_bench`, then
 * every run works on a fresh copy. Prints markdown (progress on stderr) and writes it to
 * bench/results/feed-latest.md. About 5 minutes for both databases once seeded.
 *
 * `--servers N [--clients 16] [--rounds 3]` runs the write-scaling scenario instead (PostgreSQL
 * only, see write-scaling.ts): N server processes on one database, comments and feed reads flat out.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { startBenchServer } from '../imagegram-server.js';
import { formatTable, fmt, median } from '../stats.js';
import { allRows, detailSection, type DatabaseFigures } from './feed-report.js';
import { feedPageCosts } from './feed-queries.js';
import { postgresTarget, sqliteTarget, type FeedTarget } from './feed-target.js';
import { feedThroughput } from './feed-throughput.js';
import { firstPagePaths, fixedRatePhases } from './fixed-rate-phases.js';
import { writeScaling } from './write-scaling.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'both' },
    pairs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '10' },
    'pair-seconds': { type: 'string', default: '5' },
    servers: { type: 'string' },
    clients: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
  },
});
const databases = values.db === 'both' ? ['sqlite', 'postgres'] : [values.db];
if (!databases.every((db) => db === 'sqlite' || db === 'postgres')) throw new Error('--db must be sqlite, postgres or both');
const pairs = Number(values.pairs);
const seconds = Number(values.seconds);
const pairSeconds = Number(values['pair-seconds']);
const log = (message: string): void => void process.stderr.write(`${message}\n`);

/** Seeds/copies, starts imagegram on the copy, measures everything, and cleans up. */
async function measure(open: (log: (message: string) => void) => Promise<FeedTarget>): Promise<DatabaseFigures> {
  const target = await open(log);
  try {
    log(`# ${target.name}`);
    // The bench's own server helper: logs to a file (not through a pipe into this process, whose
    // loop runs the load generators), the write limiter on at its ceiling, pid known for /proc.
    const server = await startBenchServer(target.serverEnv);
    let phases;
    let throughput;
    try {
      const feedPaths = await firstPagePaths(server.baseUrl, 5);
      phases = await fixedRatePhases(server, feedPaths, target, { seconds, log });
      log('  throughput A/B …');
      throughput = await feedThroughput(server, { pairs, seconds: pairSeconds, connections: 10, rateSeconds: seconds, log });
    } finally {
      await server.cleanup();
    }
    // After the server is gone: SQLite allows one store per file at a time.
    const pageCosts = await feedPageCosts((onQuery) => target.openStore(onQuery));
    return { target, phases, throughput, pageCosts };
  } finally {
    await target.dispose();
  }
}

if (values.servers !== undefined) {
  if (values.db !== 'postgres') throw new Error('--servers needs --db postgres: SQLite allows one server process per file');
  const servers = Number(values.servers);
  const clients = Number(values.clients);
  const loadBefore = loadavg()[0]!;
  const target = await postgresTarget(log);
  let figures;
  try {
    log(`# write scaling: ${servers} servers, ${clients} clients, ${values.rounds} rounds of ${seconds} s`);
    figures = await writeScaling(target, target.serverEnv.DATABASE_URL!, { servers, clients, rounds: Number(values.rounds), seconds, log });
  } finally {
    await target.dispose();
  }
  const range = (values: number[], digits = 0) => `${fmt(median(values), digits)} (${values.map((v) => fmt(v, digits)).join(', ')})`;
  const report = [
    `## Writes from ${servers} server processes, ${clients} closed-loop clients (PostgreSQL, 100k posts)`,
    '',
    '| metric | median (each round) |',
    '|---|---|',
    `| comments/s | ${range(figures.comments.map((f) => f.rate))} |`,
    `| comment p50 ms | ${range(
      figures.comments.map((f) => f.p50),
      1,
    )} |`,
    `| comment p99 ms | ${range(
      figures.comments.map((f) => f.p99),
      1,
    )} |`,
    `| comment errors + non-2xx | ${figures.comments.map((f) => f.errors + f.non2xx).join(', ')} |`,
    `| CPU ms per comment: servers (together) | ${range(
      figures.comments.map((f) => f.cpuMsPerRequest.servers),
      3,
    )} |`,
    `| CPU ms per comment: PostgreSQL backends | ${range(
      figures.comments.map((f) => f.cpuMsPerRequest.database),
      3,
    )} |`,
    `| CPU ms per comment: load generator | ${range(
      figures.comments.map((f) => f.cpuMsPerRequest.bench),
      3,
    )} |`,
    `| feed reads/s (GET /posts) | ${range(figures.feed.map((f) => f.rate))} |`,
    `| feed read p99 ms | ${range(
      figures.feed.map((f) => f.p99),
      1,
    )} |`,
    `| CPU ms per feed read: servers (together) | ${range(
      figures.feed.map((f) => f.cpuMsPerRequest.servers),
      3,
    )} |`,
    '',
    `PostgreSQL backends during the comment phases (pg_stat_activity every 20 ms): ${figures.waits
      .slice(0, 6)
      .map((w) => `${w.wait} ${w.samples}`)
      .join(', ')}`,
    '',
    `- date: ${new Date().toISOString()}; ${seconds} s per phase; 1-minute load average ${fmt(loadBefore, 2)} before, ${fmt(loadavg()[0]!, 2)} after`,
    '',
  ].join('\n');
  process.stdout.write(report);
  process.exit(0);
}

const started = performance.now();
const loadBefore = loadavg()[0]!;
const results: DatabaseFigures[] = [];
for (const db of databases) results.push(await measure(db === 'sqlite' ? sqliteTarget : postgresTarget));

const report = [
  '## Feed and comments: 100k posts, 1M comments',
  '',
  formatTable(results.flatMap(allRows)),
  '',
  ...results.flatMap((figures) => [detailSection(figures), '']),
  `- date: ${new Date().toISOString()}`,
  `- machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${fmt(totalmem() / 2 ** 30, 0)} GiB RAM, node ${process.version}`,
  `- ${seconds} s per fixed-rate phase, ${pairs} A/B pairs of ${pairSeconds} s per side; whole run ${fmt((performance.now() - started) / 1000, 0)} s`,
  `- 1-minute load average: ${fmt(loadBefore, 2)} before, ${fmt(loadavg()[0]!, 2)} after`,
  '',
].join('\n');
process.stdout.write(report);
const resultsDir = new URL('../results/', import.meta.url);
await mkdir(resultsDir, { recursive: true });
await writeFile(new URL('feed-latest.md', resultsDir), report);
