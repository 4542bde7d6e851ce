/**
 * `node --import tsx bench/upload-cpu-ab.ts [--rounds 10] [--count 60] [--png] [--peer] [--roots dirA,dirB]`:
 * images/s and server CPU per image, by thread group, of several upload servers measured in turn,
 * round after round: imagegram from each checkout in `--roots` (default: this one), and with
 * `--peer` the durable Fastify peer (bench/fastify-peer-server.ts). Each server first takes 40
 * uploads to warm up; then every round sends `--count` uploads of the 12 MP JPEG (or PNG), 2 in
 * flight, to each server in the same order. CPU comes from /proc/<pid>/task/<tid>/stat (user +
 * system): the main thread; the other threads named `node`, which are libuv's pool, V8's GC and
 * compiler helpers and worker threads alike (/proc cannot tell them apart); libvips' workers; the rest. Prints the median of the rounds and each round's total, so a change can be
 * compared with its base on the same machine weather.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startFastifyPeer } from './bare-ingest-process.js';
import { BenchFiles, type BenchImage } from './fixtures.js';
import { startBenchServer } from './imagegram-server.js';
import { postImage } from './multipart-body.js';
import { readThreadCpu } from './process-stats.js';
import { fmt, median } from './stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    count: { type: 'string', default: '60' },
    png: { type: 'boolean', default: false },
    peer: { type: 'boolean', default: false },
    roots: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const count = Number(values.count);
const groups = ['main', 'node', 'libvips', 'other'] as const;
type Group = (typeof groups)[number];

interface Target {
  label: string;
  pid: number;
  upload(image: BenchImage, n: number): Promise<unknown>;
  stop(): Promise<void>;
}

/** CPU ms so far per thread group of `pid`. */
async function threadCpu(pid: number): Promise<Record<Group, number>> {
  const totals: Record<Group, number> = { main: 0, node: 0, libvips: 0, other: 0 };
  for (const { name, main, seconds } of await readThreadCpu(pid)) {
    const group: Group = main ? 'main' : name === 'libvips worker' ? 'libvips' : name === 'node' ? 'node' : 'other';
    totals[group] += seconds * 1000;
  }
  return totals;
}

const files = new BenchFiles();
const image = values.png ? await files.png12mp() : await files.jpeg12mp();
const targets: Target[] = [];
const scratch: string[] = [];
try {
  if (values.peer) {
    const dir = await mkdtemp(join(tmpdir(), 'imagegram-bench-peer-'));
    scratch.push(dir);
    const peer = await startFastifyPeer(dir);
    targets.push({ label: 'peer', pid: peer.pid, upload: (bytes, n) => postImage(peer.url, bytes, n), stop: () => peer.stop() });
  }
  for (const root of values.roots?.split(',').map((path) => resolve(path)) ?? [undefined]) {
    const server = await startBenchServer({}, root);
    targets.push({ label: root ?? 'this checkout', pid: server.pid, upload: (bytes, n) => server.upload(bytes, n), stop: () => server.cleanup() });
  }

  let uploadNumber = 0;
  const inFlight = async (target: Target, uploads: number): Promise<number> => {
    let started = 0;
    const began = performance.now();
    await Promise.all(
      [0, 1].map(async () => {
        while (started++ < uploads) await target.upload(image, ++uploadNumber);
      }),
    );
    return performance.now() - began;
  };
  for (const target of targets) await inFlight(target, 40);

  const results = new Map<Target, { rate: number; cpu: Record<Group, number> }[]>(targets.map((target) => [target, []]));
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const before = await threadCpu(target.pid);
      const ms = await inFlight(target, count);
      const after = await threadCpu(target.pid);
      const cpu = Object.fromEntries(groups.map((group) => [group, (after[group] - before[group]) / count])) as Record<Group, number>;
      results.get(target)!.push({ rate: (count / ms) * 1000, cpu });
    }
  }

  const lines = [
    `${values.png ? '12 MP PNG' : '12 MP JPEG'}, 2 in flight, ${rounds} rounds of ${count} uploads per server: medians of the rounds`,
    '',
    '| server | images/s | CPU ms/image, all | main thread | other `node` threads (libuv pool, V8 helpers, workers) | libvips workers | other | all, each round |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [target, measured] of results) {
    const all = measured.map(({ cpu }) => groups.reduce((sum, group) => sum + cpu[group], 0));
    const byGroup = groups.map((group) => fmt(median(measured.map(({ cpu }) => cpu[group]))));
    lines.push(
      `| ${target.label} | ${fmt(median(measured.map(({ rate }) => rate)))} | ${fmt(median(all))} | ${byGroup.join(' | ')} | ${all.map((value) => fmt(value)).join(', ')} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  for (const target of targets) await target.stop();
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
}
