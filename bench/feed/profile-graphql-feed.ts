/**
 * `node --import tsx bench/feed/profile-graphql-feed.ts [--first 20] [--seconds 15] [--out dir] [--node-flags=--trace-gc] [--root <checkout>]`:
 * a CPU profile (`--cpu-prof`) of the server executing the GraphQL feed query of
 * graphql-vs-postgraphile.ts (never from the page cache: the request carries a Cookie) flat out
 * on a copy of the PostgreSQL seed (`BENCH_POSTGRES_DB`), the server's CPU per request, and the
 * top functions by self time. The profile file is left in `--out` (default a temp dir) for Chrome
 * DevTools or speedscope, with the server's output (server.log: what `--node-flags` asked V8 to print).
 * `--root`: serve from another checkout (node_modules linked), to compare a change's CPU per request.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCpuSeconds } from '../process-stats.js';
import { postgresTarget } from './feed-target.js';
import { printSelfTime, readMainThreadProfile, waitUntilServing } from './cpu-profile.js';
import { autocannonFlatOut } from './load.js';

const { values } = parseArgs({
  options: {
    first: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '15' },
    out: { type: 'string' },
    'node-flags': { type: 'string', default: '' },
    root: { type: 'string' },
  },
});
const log = (message: string): void => void process.stderr.write(`${message}\n`);
const projectRoot = values.root ?? fileURLToPath(new URL('../..', import.meta.url));
const out = values.out ?? (await mkdtemp(join(tmpdir(), 'imagegram-graphql-profile-')));
const first = Number(values.first);
const seconds = Number(values.seconds);
const query = `{ posts(first: ${first}) { edges { node { id caption commentCount createdAt author { id username }
  image { id url width height } lastComments { id body createdAt author { id username } } } cursor }
  pageInfo { hasNextPage endCursor } } }`;
const path = `/graphql?query=${encodeURIComponent(query)}`;
const headers = { cookie: 'bench=uncached' };

const target = await postgresTarget(log);
const port = 17000 + Math.floor(Math.random() * 1000);
const dataDir = await mkdtemp(join(tmpdir(), 'imagegram-graphql-profile-data-'));
await mkdir(out, { recursive: true });
const serverLog = await open(join(out, 'server.log'), 'a');
const nodeFlags = values['node-flags'].split(' ').filter(Boolean);
const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${out}`, ...nodeFlags, '--import', 'tsx', 'src/main.ts', 'serve'], {
  cwd: projectRoot,
  env: {
    ...process.env,
    ...target.serverEnv,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef',
  },
  stdio: ['ignore', serverLog.fd, serverLog.fd],
});
await serverLog.close();
const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
try {
  const origin = `http://127.0.0.1:${port}`;
  await waitUntilServing(child, origin);
  await autocannonFlatOut(origin, path, 3, 10, headers); // compiles the query and warms the JIT
  const cpuBefore = readCpuSeconds(child.pid!);
  const result = await autocannonFlatOut(origin, path, seconds, 10, headers);
  const cpu = readCpuSeconds(child.pid!) - cpuBefore;
  if (result.errors + result.non2xx > 0) throw new Error(`${result.errors} errors, ${result.non2xx} non-2xx`);
  log(`${result.rate.toFixed(0)} req/s while profiling; server CPU ${((cpu * 1e6) / (result.rate * seconds)).toFixed(0)} µs/request`);
} finally {
  // SIGTERM: a graceful exit writes the profile.
  if (child.exitCode === null) child.kill('SIGTERM');
  await exited;
  await target.dispose();
  await rm(dataDir, { recursive: true, force: true });
}
const { file, profile } = await readMainThreadProfile(out);
printSelfTime(file, profile, projectRoot, 40);
