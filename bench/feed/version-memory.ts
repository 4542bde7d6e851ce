/**
 * `node --import tsx bench/feed/version-memory.ts [--rounds 7] [--seconds 5]`: the feed cache
 * hit (`GET /posts?limit=20` on the 100k-post SQLite seed) with the feed version read for every
 * request (`FEED_VERSION_MAX_AGE_MS=0`, the old path) and remembered in the process (the default),
 * against a bare Fastify route sending the same bytes. Two servers, each on its own copy of the
 * seed (SQLite allows one server per data dir); in every round the three sides run one after
 * another, the order rotating from round to round; the ratios are per round, then the median.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startBenchServer, type BenchServer } from '../imagegram-server.js';
import { readCpuSeconds } from '../process-stats.js';
import { fmt, median } from '../stats.js';
import { startBareFeedServer } from './bare-feed-process.js';
import { sqliteTarget, type FeedTarget } from './feed-target.js';
import { feedPagePath } from './feed-throughput.js';
import { autocannonFlatOut } from './load.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, seconds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const log = (message: string): void => void process.stderr.write(`${message}\n`);

interface Side {
  name: string;
  origin: string;
  pid: number;
  rates: number[];
  cpuUs: number[];
}

const targets: FeedTarget[] = [];
const servers: BenchServer[] = [];
const loadBefore = loadavg();
try {
  for (let i = 0; i < 2; i++) targets.push(await sqliteTarget(log));
  // One cursor secret, so both send the same bytes (nextCursor is signed).
  const secret = { CURSOR_SECRET: 'version-memory-bench-cursor-secret-0123456789' };
  const sqlEveryHit = await startBenchServer({ ...targets[0]!.serverEnv, ...secret, FEED_VERSION_MAX_AGE_MS: '0' });
  servers.push(sqlEveryHit);
  const remembered = await startBenchServer({ ...targets[1]!.serverEnv, ...secret });
  servers.push(remembered);
  const captured = await fetch(`${remembered.baseUrl}${feedPagePath}`);
  const body = await captured.text();
  const other = await (await fetch(`${sqlEveryHit.baseUrl}${feedPagePath}`)).text();
  if (other !== body) throw new Error('the two servers send different pages');
  const bare = await startBareFeedServer(body, captured.headers.get('content-type')!);
  try {
    const sides: Side[] = [
      { name: 'bare Fastify', origin: bare.origin, pid: bare.pid, rates: [], cpuUs: [] },
      { name: 'imagegram, version read per hit (FEED_VERSION_MAX_AGE_MS=0)', origin: sqlEveryHit.baseUrl, pid: sqlEveryHit.pid, rates: [], cpuUs: [] },
      { name: 'imagegram, version remembered (default)', origin: remembered.baseUrl, pid: remembered.pid, rates: [], cpuUs: [] },
    ];
    for (const side of sides) await autocannonFlatOut(side.origin, feedPagePath, 1); // warm-up
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(round + k) % sides.length]!;
        const cpuBefore = readCpuSeconds(side.pid);
        const result = await autocannonFlatOut(side.origin, feedPagePath, seconds);
        if (result.errors + result.non2xx > 0) throw new Error(`${side.name}: ${result.errors} errors, ${result.non2xx} non-2xx`);
        side.rates.push(result.rate);
        side.cpuUs.push(((readCpuSeconds(side.pid) - cpuBefore) * 1e6) / (result.rate * seconds));
      }
      log(`round ${round + 1}: ${sides.map((side) => `${side.rates.at(-1)!.toFixed(0)}`).join(' / ')} req/s`);
    }
    const [base, before, after] = sides as [Side, Side, Side];
    const ratios = (a: Side, b: Side) => a.rates.map((rate, i) => rate / b.rates[i]!);
    const show = (values: number[]) => `**${fmt(median(values), 2)}** (${values.map((v) => fmt(v, 2)).join(', ')})`;
    const loadAfter = loadavg();
    console.log(
      `${rounds} rounds of ${seconds} s per side, 10 connections, ${Buffer.byteLength(body)} B page; load average ${loadBefore.map((v) => v.toFixed(2)).join(' ')} before, ${loadAfter.map((v) => v.toFixed(2)).join(' ')} after\n`,
    );
    console.log('| side | req/s, median | server CPU µs/request, median |');
    console.log('|---|---|---|');
    for (const side of sides) console.log(`| ${side.name} | ${fmt(median(side.rates), 0)} | ${fmt(median(side.cpuUs), 0)} |`);
    console.log(`\n| ratio (per round, median (rounds)) | |\n|---|---|`);
    console.log(`| remembered / bare | ${show(ratios(after, base))} |`);
    console.log(`| read per hit / bare | ${show(ratios(before, base))} |`);
    console.log(`| remembered / read per hit | ${show(ratios(after, before))} |`);
  } finally {
    await bare.stop();
  }
} finally {
  for (const server of servers) await server.cleanup();
  for (const target of targets) await target.dispose();
}
