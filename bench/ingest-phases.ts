import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { FsBlobStore } from '../src/adapters/blob/fs-blob-store.js';
import { SharpImageProcessor } from '../src/adapters/image/sharp-image-processor.js';
import { FsStagingArea } from '../src/adapters/staging/fs-staging-area.js';
import { derivativeKey, originalKey } from '../src/core/images/blob-keys.js';
import type { ImageProbe } from '../src/core/images/image.js';
import type { BenchImage } from './fixtures.js';
import { startBenchServer, type BenchServer } from './imagegram-server.js';
import { postImage } from './multipart-body.js';
import { readCpuSeconds } from './process-stats.js';
import type { Scenario } from './scenario.js';
import { fmt, median } from './stats.js';

/** Runs per phase after one warm-up; the median is reported. */
const repeats = 3;

interface PhaseTiming {
  wallMs: number;
  cpuMs: number;
}

/** This process's CPU seconds so far, all threads (libvips and worker threads included). */
function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Times `task` by the wall clock and by the CPU time of the process `cpu` reads. */
async function timed(cpu: () => number, task: () => Promise<unknown>): Promise<PhaseTiming> {
  const cpuBefore = cpu();
  const start = performance.now();
  await task();
  return { wallMs: performance.now() - start, cpuMs: (cpu() - cpuBefore) * 1000 };
}

/** The same bytes with the magic number overwritten: the server stages it all, then answers 415. */
function notAnImage(image: BenchImage): BenchImage {
  return { ...image, tagOffset: 0, tagLength: 16, tag: (n) => Buffer.from(`NOTIMAGE${n.toString(16).padStart(8, '0')}`, 'latin1') };
}

/** Collects timings per phase name and renders them as table rows. */
class PhaseLog {
  private readonly timings = new Map<string, PhaseTiming[]>();

  async add(phase: string, cpu: () => number, task: () => Promise<unknown>): Promise<void> {
    const timing = await timed(cpu, task);
    this.timings.set(phase, [...(this.timings.get(phase) ?? []), timing]);
  }

  rows(label: string): string[] {
    return [...this.timings].map(([phase, all]) => {
      const kept = all.slice(1); // the first run of each phase is the warm-up
      return `| ${label} | ${phase} | ${fmt(median(kept.map((t) => t.wallMs)), 0)} | ${fmt(median(kept.map((t) => t.cpuMs)), 0)} |`;
    });
  }
}

/**
 * Diagnostic, not a budget: where one upload's time goes, serially (1 in flight). Through the real
 * server: the full upload, and the receive path alone (same bytes, magic number broken → staged,
 * hashed, fsynced, then 415). In this process with the server's own adapters: each ingest step.
 * CPU times count all threads of the process named.
 */
export const ingestPhases: Scenario = {
  name: 'phases',
  async run(context) {
    const dir = await context.files.scratch('phases');
    const staging = new FsStagingArea(join(dir, 'staging'));
    const blobs = new FsBlobStore(join(dir, 'blobs'));
    const processor = new SharpImageProcessor({ maxPixels: 100_000_000, maxDimension: 50_000 });
    const server = await startBenchServer();
    const lines: string[] = [];
    try {
      let n = 1_000_000;
      const images: [string, BenchImage][] = [
        ['12 MP JPEG', await context.files.jpeg12mp()],
        ['12 MP PNG', await context.files.png12mp()],
        ['12 MP BMP', await context.files.bmp12mp()],
      ];
      for (const [label, image] of images) {
        context.log(`phases: ${label}`);
        const log = new PhaseLog();
        const serverCpu = (): number => readCpuSeconds(server.pid);
        for (let i = 0; i <= repeats; i++) {
          await log.add('server: whole upload, 201', serverCpu, () => server.upload(image, ++n));
          await log.add('server: receive only (multipart, SHA-256, write, fsync → 415)', serverCpu, () => receiveOnly(server, image, ++n));
          await log.add('bench client: sending one upload', ownCpuSeconds, () => server.upload(image, ++n));
          await inProcessSteps(log, { staging, blobs, processor }, image);
        }
        lines.push(...log.rows(label));
      }
    } finally {
      await server.cleanup();
      await processor.close();
    }
    const section = ['| image | phase (serial, 1 in flight) | wall ms | CPU ms |', '|---|---|---|---|', ...lines].join('\n');
    return { rows: [], section };
  },
};

async function receiveOnly(server: BenchServer, image: BenchImage, n: number): Promise<void> {
  await postImage(`${server.baseUrl}/images`, notAnImage(image), n, server.user.headers).then(
    () => {
      throw new Error('a non-image was accepted');
    },
    (error: unknown) => {
      if (!String(error).includes(' 415')) throw error;
    },
  );
}

/** ImageIngest's steps, one by one, with the server's adapters in this process (the DB commit excepted). */
async function inProcessSteps(
  log: PhaseLog,
  { staging, blobs, processor }: { staging: FsStagingArea; blobs: FsBlobStore; processor: SharpImageProcessor },
  image: BenchImage,
): Promise<void> {
  let staged: Awaited<ReturnType<FsStagingArea['receive']>> | undefined;
  await log.add('in-process: stage (SHA-256, write, fsync)', ownCpuSeconds, async () => {
    staged = await staging.receive(createReadStream(image.path), 200_000_000);
  });
  const path = staged!.path;
  // A fresh address each time, as for new bytes: new shard directories and all.
  const sha256 = randomBytes(32).toString('hex');
  let probe: ImageProbe | undefined;
  await log.add('in-process: probe (magic bytes, header)', ownCpuSeconds, async () => {
    probe = await processor.probe(path);
  });
  await log.add('in-process: EXIF', ownCpuSeconds, () => processor.readMetadata(path, probe!.format));
  let jpeg: Buffer | undefined;
  await log.add('in-process: render derivative', ownCpuSeconds, async () => {
    jpeg = await processor.renderDerivative(path, probe!);
  });
  await log.add('in-process: store derivative (write, fsync, rename, fsync dir)', ownCpuSeconds, () => blobs.put(derivativeKey(sha256), jpeg!));
  await log.add('in-process: promote original (fsync, link, fsync dir)', ownCpuSeconds, () => blobs.putFile(originalKey(sha256), path));
  await staged!.discard();
}
