/**
 * `node --import tsx bench/feed/profile-comments.ts [--db postgres|sqlite] [--seconds 10] [--connections 8] [--out dir]`:
 * a CPU profile (`--cpu-prof`) of one server taking `POST /posts/{id}/comments` flat out on a
 * copy of the seeded PostgreSQL database (`BENCH_POSTGRES_DB`, as bench/feed/run.ts) or of the
 * seeded SQLite file (the embedded default), then the top
 * functions and packages by self time, and the server's CPU ms per comment. The profile file is
 * left in `--out` (default a temp dir) for Chrome DevTools or speedscope.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { signUpAndLogIn } from '../../test/support/client.js';
import { readCpuSeconds, readThreadCpu } from '../process-stats.js';
import { type ProfileNode, readMainThreadProfile, waitUntilServing } from './cpu-profile.js';
import { copyPostgresSeed, postgresSeed, samplePostgresPostIds } from './seed-postgres.js';
import { copySqliteSeed, samplePostIds, sqliteSeed } from './seed-sqlite.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
    out: { type: 'string' },
  },
});
const log = (message: string): void => void process.stderr.write(`${message}\n`);
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const out = values.out ?? (await mkdtemp(join(tmpdir(), 'imagegram-comments-profile-')));

if (values.db !== 'postgres' && values.db !== 'sqlite') throw new Error('--db is postgres or sqlite');
let postIds: string[];
let copy: { env: Record<string, string>; drop(): Promise<void> };
if (values.db === 'sqlite') {
  const seed = await sqliteSeed(log);
  postIds = samplePostIds(seed.file, 5_000);
  const data = await copySqliteSeed(seed);
  copy = { env: { DATA_DIR: data.dataDir }, drop: data.remove };
} else {
  await postgresSeed(log);
  postIds = await samplePostgresPostIds(5_000);
  const database = await copyPostgresSeed();
  const dataDir = await mkdtemp(join(tmpdir(), 'imagegram-comments-profile-data-'));
  copy = {
    env: { DATA_DIR: dataDir, DATABASE_URL: database.url },
    drop: async () => {
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
const port = 17000 + Math.floor(Math.random() * 1000);
const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${out}`, '--import', 'tsx', 'src/main.ts', 'serve'], {
  cwd: projectRoot,
  env: {
    ...process.env,
    ...copy.env,
    HOST: '127.0.0.1',
    PORT: String(port),
    ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef',
    RATE_LIMIT_PER_MINUTE: '1000000',
  },
  stdio: 'ignore',
});
const spawnedAt = performance.now();
let measuredFrom = Number.NaN;
const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
let cpuMsPerComment = Number.NaN;
let mainCpuMsPerComment = Number.NaN;
/** CPU seconds so far of the server's main thread: the event loop, where a request waits its turn. */
const mainThreadCpuSeconds = async (pid: number) => (await readThreadCpu(pid)).find((thread) => thread.main)?.seconds ?? Number.NaN;
try {
  const origin = `http://127.0.0.1:${port}`;
  await waitUntilServing(child, origin);
  const user = await signUpAndLogIn(origin, 'profile');
  let turn = 0;
  const run = async (seconds: number) =>
    autocannon({
      url: origin,
      connections: Number(values.connections),
      duration: seconds,
      requests: [
        {
          setupRequest: (request) => {
            const n = turn++;
            return {
              ...request,
              method: 'POST',
              path: `/posts/${postIds[n % postIds.length]}/comments`,
              headers: { ...request.headers, ...user.headers, 'content-type': 'application/json' },
              body: JSON.stringify({ body: `Bench comment ${n}: lovely light in this one` }),
            };
          },
        },
      ],
    });
  await run(2); // warms the JIT and the pool
  measuredFrom = performance.now() - spawnedAt;
  const before = readCpuSeconds(child.pid!);
  const mainBefore = await mainThreadCpuSeconds(child.pid!);
  const result = await run(Number(values.seconds));
  cpuMsPerComment = ((readCpuSeconds(child.pid!) - before) * 1000) / result.requests.total;
  mainCpuMsPerComment = (((await mainThreadCpuSeconds(child.pid!)) - mainBefore) * 1000) / result.requests.total;
  log(`${(result.requests.total / result.duration).toFixed(0)} comments/s while profiling, ${result.non2xx + result.errors} failed`);
} finally {
  // SIGTERM: a graceful exit writes the profile.
  if (child.exitCode === null) child.kill('SIGTERM');
  await exited;
  await copy.drop();
}
const { file, profile } = await readMainThreadProfile(out);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const packageOf = ({ url, functionName }: ProfileNode['callFrame']): string => {
  const file = url.replace(`file://${projectRoot}`, '');
  if (url.includes('node_modules/')) return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)![1]!;
  if (file.startsWith('src/')) return file;
  return file === '' ? functionName : 'node internals';
};
const selfByFunction = new Map<string, number>();
const selfByPackage = new Map<string, number>();
// Inclusive: a sample counts once for every package on its stack (so the column does not sum to 100).
const totalByPackage = new Map<string, number>();
// Startup and warm-up are left out: the profile's clock starts about when the process was spawned.
let elapsedUs = 0;
for (const [index, id] of profile.samples.entries()) {
  elapsedUs += profile.timeDeltas[index] ?? 0;
  if (elapsedUs / 1000 < measuredFrom) continue;
  const { callFrame } = byId.get(id)!;
  if (callFrame.functionName === '(idle)') continue;
  const file = callFrame.url.replace(/^.*node_modules\//, '').replace(`file://${projectRoot}`, '');
  const where = `${callFrame.functionName || '(anonymous)'} ${file}:${callFrame.lineNumber + 1}`;
  selfByFunction.set(where, (selfByFunction.get(where) ?? 0) + 1);
  const pkg = packageOf(callFrame);
  selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + 1);
  const onStack = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) onStack.add(packageOf(byId.get(at)!.callFrame));
  for (const name of onStack) totalByPackage.set(name, (totalByPackage.get(name) ?? 0) + 1);
}
const busy = [...selfByFunction.values()].reduce((sum, n) => sum + n, 0);
const top = (counts: Map<string, number>, n: number) =>
  [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([where, count]) => `| ${((100 * count) / busy).toFixed(1)} | \`${where}\` |`)
    .join('\n');
console.log(
  `profile: ${file}; server CPU ${cpuMsPerComment.toFixed(3)} ms per comment, ${mainCpuMsPerComment.toFixed(3)} of them on the main thread (measured phase only)`,
);
console.log(`\n| self % of busy samples | package or file |\n|---|---|\n${top(selfByPackage, 25)}`);
console.log(`\n| inclusive % of busy samples | package or file on the stack |\n|---|---|\n${top(totalByPackage, 30)}`);
console.log(`\n| self % of busy samples | function |\n|---|---|\n${top(selfByFunction, 40)}`);
