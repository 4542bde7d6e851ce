/**
 * `node --import tsx bench/feed/graphql-feed-cpu-ab.ts --before <checkout> [--after <checkout>] [--rounds 16] [--burst 2] [--first 20] [--query <text>]`:
 * the server CPU per executed GraphQL feed request (the query of graphql-vs-postgraphile.ts, with
 * a Cookie so it is never taken from the page cache) of two checkouts, served side by side from
 * one copy of the PostgreSQL seed (`BENCH_POSTGRES_DB`) and loaded in short flat-out bursts that
 * alternate between them, the order flipping each round. On a shared, loaded box a change's effect
 * is then read from the per-round ratios, each taken within seconds, not from two runs minutes
 * apart (profile-graphql-feed.ts one after the other moved by ±30 % at load 10). `--after` defaults
 * to this checkout; both need node_modules (linked). Also prints the system share of the CPU.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { median } from '../stats.js';
import { waitUntilServing } from './cpu-profile.js';
import { postgresTarget } from './feed-target.js';

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string', default: fileURLToPath(new URL('../..', import.meta.url)) },
    rounds: { type: 'string', default: '16' },
    burst: { type: 'string', default: '2' },
    first: { type: 'string', default: '20' },
    query: { type: 'string' },
  },
});
if (!values.before) throw new Error('--before <checkout> is required');
const log = (message: string): void => void process.stderr.write(`${message}\n`);
const query =
  values.query ??
  `{ posts(first: ${Number(values.first)}) { edges { node { id caption commentCount createdAt author { id username }
  image { id url width height } lastComments { id body createdAt author { id username } } } cursor }
  pageInfo { hasNextPage endCursor } } }`;
const path = `/graphql?query=${encodeURIComponent(query)}`;
const headers = { cookie: 'bench=uncached' };
const burstSeconds = Number(values.burst);

interface Side {
  name: string;
  root: string;
  child: ChildProcess;
  origin: string;
  dataDir: string;
  cpu: number[];
  system: number[];
  requests: number[];
}

/** User and system CPU seconds of `pid` so far (Linux: utime and stime of /proc/pid/stat, in USER_HZ = 100). */
function cpuSeconds(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

const target = await postgresTarget(log);
const sides: Side[] = [];
try {
  for (const [name, root] of [
    ['before', values.before],
    ['after', values.after],
  ] as const) {
    const port = 17000 + Math.floor(Math.random() * 1000);
    const dataDir = await mkdtemp(join(tmpdir(), 'imagegram-graphql-ab-'));
    const serverLog = await open(join(dataDir, 'server.log'), 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
      cwd: root,
      env: { ...process.env, ...target.serverEnv, DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef' },
      stdio: ['ignore', serverLog.fd, serverLog.fd],
    });
    await serverLog.close();
    const side: Side = { name, root, child, origin: `http://127.0.0.1:${port}`, dataDir, cpu: [], system: [], requests: [] };
    sides.push(side);
    await waitUntilServing(child, side.origin);
  }
  const answers = await Promise.all(sides.map(async (side) => (await fetch(`${side.origin}${path}`, { headers })).text()));
  if (answers[0] !== answers[1]) throw new Error('the two checkouts answer differently');
  log(`same answer from both (${answers[0]!.length} characters)`);

  const burst = async (side: Side, seconds: number) => {
    const start = cpuSeconds(side.child.pid!);
    const result = await autocannon({ url: `${side.origin}${path}`, connections: 10, duration: seconds, headers });
    const end = cpuSeconds(side.child.pid!);
    if (result.errors + result.non2xx > 0) throw new Error(`${side.name}: ${result.errors} errors, ${result.non2xx} non-2xx`);
    return { cpu: end.user + end.system - start.user - start.system, system: end.system - start.system, requests: result.requests.total };
  };
  for (const side of sides) await burst(side, 3); // compiles the query, warms the JIT
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const { cpu, system, requests } = await burst(side, burstSeconds);
      side.cpu.push(cpu);
      side.system.push(system);
      side.requests.push(requests);
    }
  }
  const perRequest = sides.map((side) => side.cpu.map((cpu, i) => (cpu * 1e6) / side.requests[i]!));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  for (const [i, side] of sides.entries()) {
    log(
      `${side.name} (${side.root}): server CPU µs/request median of bursts ${median(perRequest[i]!).toFixed(0)}, overall ${((sum(side.cpu) * 1e6) / sum(side.requests)).toFixed(0)}; ` +
        `system ${((100 * sum(side.system)) / sum(side.cpu)).toFixed(0)} %; req/s median ${median(side.requests.map((n) => n / burstSeconds)).toFixed(0)}; ` +
        `bursts ${perRequest[i]!.map((us) => us.toFixed(0)).join(' ')}`,
    );
  }
  const ratios = perRequest[1]!.map((after, i) => after / perRequest[0]![i]!);
  log(`after / before per round: median ${median(ratios).toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(' ')})`);
} finally {
  for (const side of sides) {
    if (side.child.exitCode === null && side.child.signalCode === null) {
      const exited = new Promise((resolve) => side.child.once('exit', resolve));
      side.child.kill('SIGTERM');
      await exited;
    }
    await rm(side.dataDir, { recursive: true, force: true });
  }
  await target.dispose();
}
