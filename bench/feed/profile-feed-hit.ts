/**
 * `node --import tsx bench/feed/profile-feed-hit.ts [--seconds 10] [--out dir]`: a CPU profile
 * (`--cpu-prof`) of the server answering `GET /posts?limit=20` cache hits flat out on a copy of
 * the 100k-post SQLite seed, and the top functions by self time. The profile file is left in
 * `--out` (default a temp dir) for Chrome DevTools or speedscope.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { feedPagePath } from './feed-throughput.js';
import { printSelfTime, readMainThreadProfile, waitUntilServing } from './cpu-profile.js';
import { autocannonFlatOut } from './load.js';
import { copySqliteSeed, sqliteSeed } from './seed-sqlite.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, out: { type: 'string' } } });
const log = (message: string): void => void process.stderr.write(`${message}\n`);
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const out = values.out ?? (await mkdtemp(join(tmpdir(), 'imagegram-feed-profile-')));

const copy = await copySqliteSeed(await sqliteSeed(log));
const port = 17000 + Math.floor(Math.random() * 1000);
const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${out}`, '--import', 'tsx', 'src/main.ts', 'serve'], {
  cwd: projectRoot,
  env: { ...process.env, DATA_DIR: copy.dataDir, HOST: '127.0.0.1', PORT: String(port), ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef' },
  stdio: 'ignore',
});
const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
try {
  const origin = `http://127.0.0.1:${port}`;
  await waitUntilServing(child, origin);
  await autocannonFlatOut(origin, feedPagePath, 2); // fills the cache and warms the JIT
  const result = await autocannonFlatOut(origin, feedPagePath, Number(values.seconds));
  log(`${result.rate.toFixed(0)} req/s while profiling`);
} finally {
  // SIGTERM: a graceful exit writes the profile.
  if (child.exitCode === null) child.kill('SIGTERM');
  await exited;
  await copy.remove();
}
const { file, profile } = await readMainThreadProfile(out);
printSelfTime(file, profile, projectRoot, 30);
