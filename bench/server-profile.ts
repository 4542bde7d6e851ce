/**
 * Diagnostic, not a budget: where an upload server's CPU goes, per image. Starts imagegram (or,
 * with `--peer`, the durable Fastify peer) with `--perf-basic-prof-only-functions`, warms it up,
 * then sends `--count` uploads of the 12 MP JPEG (or `--png`), 2 in flight, under
 * `perf record -e cpu-clock -g` (all threads, on-CPU time only, JavaScript frames named). Each
 * sample goes to the first phase (see `phases`) that a frame of its stack names, leaf upward, so
 * node's internals and libc count for whoever called them. Kernel time is not sampled (it needs
 * perf_event_paranoid < 2): it is reported apart, from /proc/<pid>/stat's stime.
 *
 * Needs Linux `perf`. Usage:
 *   node --import tsx bench/server-profile.ts [--peer] [--png] [--count 40] [--env KEY=VALUE]... [--detail]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFastifyPeer } from './bare-ingest-process.js';
import { BenchFiles } from './fixtures.js';
import { type BenchServer, startBenchServer } from './imagegram-server.js';
import { postImage } from './multipart-body.js';
import { readThreadCpu } from './process-stats.js';
import { fmt } from './stats.js';

const { values } = parseArgs({
  options: {
    peer: { type: 'boolean', default: false },
    png: { type: 'boolean', default: false },
    count: { type: 'string', default: '40' },
    env: { type: 'string', multiple: true, default: [] },
    detail: { type: 'boolean', default: false },
  },
});

/** One stack frame of a perf sample: symbol and the file (binary, shared object or perf map) it is in. */
interface Frame {
  symbol: string;
  dso: string;
}

/**
 * Phases, tried in this order against every frame of a sample from the leaf up; the first phase a
 * frame matches takes the sample. Native libraries come first: they are the leaves doing the work.
 */
const phases: [string, (frame: Frame, thread: string) => boolean][] = [
  ['decode + resize + encode (libvips worker threads)', (_f, thread) => thread === 'libvips worker'],
  // libvips' own symbols are stripped: the probe's metadata() and the render look alike here.
  ['sharp on the libuv pool (render pipeline, metadata())', ({ dso }) => /libvips|sharp-linux/.test(dso)],
  ['DB: SQLite (better-sqlite3 native)', ({ dso }) => dso.includes('better_sqlite3')],
  ['SHA-256 of the body', ({ symbol }) => /sha256_block|SHA256/i.test(symbol)],
  ['garbage collection', ({ symbol }) => /Heap::|Scavenge|MarkCompact|ConcurrentMarking|MinorMS|Sweeper|GCTracer/.test(symbol)],
  ['EXIF (metadata job: exifr)', ({ symbol }) => symbol.includes('/exifr/')],
  ['probe: magic bytes (file-type, strtok3)', ({ symbol }) => /\/(file-type|strtok3|token-types|peek-readable)\//.test(symbol)],
  ['multipart parsing (busboy, @fastify/multipart)', ({ symbol }) => /\/(@fastify\/busboy|@fastify\/multipart)\//.test(symbol)],
  ['logging (pino)', ({ symbol }) => /\/(pino[^/]*|sonic-boom|thread-stream|fast-redact)\//.test(symbol) || symbol.includes('/src/transports/logging')],
  ['metrics (prom-client, imagegram metrics)', ({ symbol }) => symbol.includes('/prom-client/') || /\/src\/transports\/metrics/.test(symbol)],
  [
    'DB: Kysely, query building and repositories (JS)',
    ({ symbol }) => /\/(kysely|better-sqlite3)\//.test(symbol) || symbol.includes('/src/adapters/metadata/'),
  ],
  ['sharp (JS side: options, pipeline set-up)', ({ symbol }) => symbol.includes('/sharp/')],
  ['jobs (worker loop, metadata job)', ({ symbol }) => /\/src\/(core\/jobs|transports\/worker)\/|metadata-extraction/.test(symbol)],
  ['staging (stream to file, fsync calls)', ({ symbol }) => /\/src\/adapters\/staging\/|stream-to-file/.test(symbol)],
  ['blob store (writes, links, fsync calls)', ({ symbol }) => symbol.includes('/src/adapters/blob/')],
  ['image adapters (probe, render set-up)', ({ symbol }) => symbol.includes('/src/adapters/image/')],
  ['ingest core (pins, ingest, events)', ({ symbol }) => symbol.includes('/src/core/')],
  ['auth, rate limit', ({ symbol }) => /\/(@fastify\/rate-limit)\/|\/src\/transports\/(request-auth|rest\/rate-limits)/.test(symbol)],
  ['Fastify routing, hooks, serialisation', ({ symbol }) => /\/(fastify|find-my-way|avvio|fast-json-stringify|@fastify\/[^/]+)\//.test(symbol)],
  ['imagegram transports (routes, presenters)', ({ symbol }) => symbol.includes('/src/transports/')],
  ['peer server code', ({ symbol }) => symbol.includes('fastify-peer-server')],
  ['other imagegram code', ({ symbol }) => symbol.includes('/src/')],
  ['other packages', ({ symbol }) => symbol.includes('/node_modules/')],
  ['HTTP parsing (llhttp)', ({ symbol }) => symbol.includes('llhttp')],
  ['file I/O in the libuv pool (user side: syscall wrappers)', ({ symbol }) => /uv__fs_work|uv__fs_/.test(symbol)],
  ['V8 compiler and runtime', ({ symbol }) => /v8::internal::(compiler|maglev|baseline|Compiler|Runtime_)|Builtins_Compile/.test(symbol)],
];

/** CPU seconds (user, system) of `pid`, all threads: /proc/<pid>/stat fields utime and stime. */
async function cpuSeconds(pid: number): Promise<{ user: number; system: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** CPU seconds per thread group of `pid` (/proc/<pid>/task/<tid>/stat; the main thread's tid is the pid). */
async function threadCpu(pid: number): Promise<Map<string, number>> {
  const groups = new Map<string, number>();
  for (const { name, main, seconds } of await readThreadCpu(pid)) {
    const group = main
      ? 'main thread (JavaScript, event loop, SQLite)'
      : name === 'libvips worker'
        ? 'libvips workers (decode, resize, encode)'
        : name === 'node'
          ? 'other `node` threads: libuv pool (file I/O, sharp pipelines), V8 GC and compiler helpers, workers'
          : name.startsWith('perf') || name.startsWith('v8:Prof')
            ? 'profiling (not in production)'
            : 'other threads';
    groups.set(group, (groups.get(group) ?? 0) + seconds);
  }
  return groups;
}

/** Runs `perf script` on `data` and yields each sample's thread name, period (ns) and frames, leaf first. */
async function* samples(data: string): AsyncGenerator<{ thread: string; tid: number; ns: number; frames: Frame[] }> {
  const child = spawn('perf', ['script', '-i', data, '-F', 'comm,tid,period,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  for await (const chunk of child.stdout) text += chunk;
  for (const block of text.split('\n\n')) {
    const [header, ...lines] = block.split('\n').filter((line) => line.trim() !== '');
    if (!header) continue;
    const match = /^\s*(.*?)\s+(\d+)\s+(\d+)\s*$/.exec(header);
    if (!match) continue;
    const frames = lines.map((line) => {
      const frame = /^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/.exec(line);
      return { symbol: frame?.[1] ?? line.trim(), dso: frame?.[2] ?? '' };
    });
    yield { thread: match[1]!, tid: Number(match[2]), ns: Number(match[3]), frames };
  }
}

const files = new BenchFiles();
const count = Number(values.count);
const nodeArgs = ['--perf-basic-prof-only-functions'];
const env = Object.fromEntries(values.env.map((pair) => pair.split('=', 2) as [string, string]));
const server: Pick<BenchServer, 'pid' | 'upload' | 'cleanup'> = values.peer
  ? await startFastifyPeer(await files.scratch('fastify-peer'), nodeArgs).then((peer) => ({
      pid: peer.pid,
      upload: (image, n) => postImage(peer.url, image, n),
      cleanup: () => peer.stop(),
    }))
  : await startBenchServer(env, undefined, nodeArgs);
const serverPid = server.pid;
const dataDir = await mkdtemp(join(tmpdir(), 'imagegram-perf-'));
const data = join(dataDir, 'perf.data');
let user = 0;
let system = 0;
const threads = new Map<string, number>();
try {
  const image = values.png ? await files.png12mp() : await files.jpeg12mp();
  let n = 0;
  // Warm-up, not counted: code paths compiled, page cache, shard directories.
  for (let i = 0; i < 4; i++) await server.upload(image, ++n);
  const perf = spawn('perf', ['record', '-q', '-F', '1999', '-g', '-e', 'cpu-clock', '-o', data, '-p', String(server.pid)], { stdio: 'ignore' });
  const perfExited = new Promise((resolve) => perf.once('exit', resolve));
  try {
    const before = await cpuSeconds(server.pid);
    const threadsBefore = await threadCpu(server.pid);
    let started = 0;
    const worker = async (): Promise<void> => {
      while (started < count) {
        started++;
        await server.upload(image, ++n);
      }
    };
    await Promise.all([worker(), worker()]);
    // The metadata jobs of the last uploads run just after their 201s: let them finish inside the window.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = await cpuSeconds(server.pid);
    for (const [group, seconds] of await threadCpu(server.pid)) threads.set(group, seconds - (threadsBefore.get(group) ?? 0));
    user = after.user - before.user;
    system = after.system - before.system;
  } finally {
    perf.kill('SIGINT');
    await perfExited;
  }
} finally {
  await server.cleanup();
}

const totals = new Map<string, number>();
const leaves = new Map<string, number>();
let sampledNs = 0;
for await (const { thread, tid, ns, frames } of samples(data)) {
  sampledNs += ns;
  const phase =
    frames.map((frame) => phases.find(([, test]) => test(frame, thread))?.[0]).find((name) => name !== undefined) ??
    // Samples taken in the kernel carry no user-space frames (perf_event_paranoid 2): syscalls.
    (tid === serverPid
      ? 'main thread: kernel (syscalls) and unnamed native code'
      : thread === 'node'
        ? 'libuv pool: kernel (file writes, fsyncs) and unnamed native code'
        : `other threads (${thread})`);
  totals.set(phase, (totals.get(phase) ?? 0) + ns);
  if (values.detail) {
    const leaf = `${phase} ← ${frames[0]?.symbol.slice(0, 120)}`;
    leaves.set(leaf, (leaves.get(leaf) ?? 0) + ns);
  }
}
await rm(dataDir, { recursive: true, force: true });
await files.cleanup();

const perImage = (ns: number): string => fmt(ns / 1e6 / count, 1);
const lines = [
  `${values.peer ? 'Fastify peer' : 'imagegram'}, ${values.png ? '12 MP PNG' : '12 MP JPEG'}, ${count} uploads, 2 in flight: CPU ms per image`,
  '',
  '| phase | CPU ms/image |',
  '|---|---|',
  ...[...totals].sort((a, b) => b[1] - a[1]).map(([phase, ns]) => `| ${phase} | ${perImage(ns)} |`),
  `| **user time sampled by perf** | **${perImage(sampledNs)}** |`,
  `| kernel time (syscalls: writes, fsyncs, reads, network), from /proc stime | ${fmt((system * 1000) / count, 1)} |`,
  `| **all (utime + stime from /proc; utime ${fmt((user * 1000) / count, 1)})** | **${fmt(((user + system) * 1000) / count, 1)}** |`,
  '',
  '| thread group (/proc, user + system) | CPU ms/image |',
  '|---|---|',
  ...[...threads].sort((a, b) => b[1] - a[1]).map(([group, seconds]) => `| ${group} | ${fmt((seconds * 1000) / count, 1)} |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
if (values.detail) {
  process.stdout.write('\nTop leaf frames (phase ← leaf symbol), ms per image:\n\n');
  for (const [leaf, ns] of [...leaves].sort((a, b) => b[1] - a[1]).slice(0, 40)) process.stdout.write(`${perImage(ns)}  ${leaf}\n`);
}
