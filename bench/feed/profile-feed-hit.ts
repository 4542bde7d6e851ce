/**
 * `node --import tsx bench/feed/profile-feed-hit.ts [--seconds 10] [--out dir]`: a CPU profile
 * (`--cpu-prof`) of the server answering `GET /posts?limit=20` cache hits flat out on a copy of
 * the 100k-post SQLite seed, and the top functions by self time. The profile file is left in
 * `--out` (default a temp dir) for Chrome DevTools or speedscope.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { feedPagePath } from './feed-throughput.js';
import { autocannonFlatOut } from './load.js';
import { copySqliteSeed, sqliteSeed } from './seed-sqlite.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, out: { type: 'string' } } });
const log = (message: string): void => void process.stderr.write(`${message}\n`);
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const out = values.out ?? (await mkdtemp(join(tmpdir(), 'imagegram-feed-profile-')));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

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
  // Waits for the condition (serving), giving up if the process exits.
  for (;;) {
    if (child.exitCode !== null) throw new Error('the server exited before serving');
    const ok = await fetch(`${origin}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await sleep(100);
  }
  await autocannonFlatOut(origin, feedPagePath, 2); // fills the cache and warms the JIT
  const result = await autocannonFlatOut(origin, feedPagePath, Number(values.seconds));
  log(`${result.rate.toFixed(0)} req/s while profiling`);
} finally {
  // SIGTERM: a graceful exit writes the profile.
  if (child.exitCode === null) child.kill('SIGTERM');
  await exited;
  await copy.remove();
}
// The main thread's profile has the lowest thread number (tsx's loader thread writes one too).
const file = (await readdir(out)).filter((name) => name.endsWith('.cpuprofile')).sort()[0];
if (!file) throw new Error(`no profile in ${out}`);
const profile = JSON.parse(await readFile(join(out, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
const self = new Map<string, number>();
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
for (const id of profile.samples) {
  const { callFrame } = byId.get(id)!;
  const where = `${callFrame.functionName || '(anonymous)'} ${callFrame.url.replace(/^.*node_modules\//, '').replace(`file://${projectRoot}`, '')}:${callFrame.lineNumber + 1}`;
  self.set(where, (self.get(where) ?? 0) + 1);
}
const total = profile.samples.length;
console.log(`profile: ${join(out, file)}\n\n| self % | function |\n|---|---|`);
for (const [where, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`| ${((100 * count) / total).toFixed(1)} | \`${where}\` |`);
