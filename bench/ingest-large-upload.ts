import { mkdir, rm } from 'node:fs/promises';
import { startBenchServer } from './imagegram-server.js';
import { startBareServer } from './bare-ingest-process.js';
import type { BenchImage } from './fixtures.js';
import { postImage, type UploadTiming } from './multipart-body.js';
import { readCpuSeconds, watchMemory } from './process-stats.js';
import type { Scenario } from './scenario.js';
import { fmt, max, median, summarisePairs, type Pair, type ResultRow } from './stats.js';

const payloadBytes = 100_000_000;
const mb = 1e6;
const ratioTarget = 0.7;
const rssTargetMb = 48;

/** One payload of about 100 MB and what its figures are called. */
interface Payload {
  label: string;
  image: BenchImage;
  /** Whether the ingest-rate target applies (it is about streaming, not decoding). */
  streamingOnly: boolean;
}

/**
 * Scenario 2: MB/s of one ~100 MB upload through `POST /images` versus a bare `node:http` server
 * that only hashes, writes and fsyncs the body — same bytes, same client, same streamed multipart
 * body — and the server's RSS growth meanwhile. The budgeted payload is a small valid JPEG followed
 * by random bytes (decoders stop at EOI), so it measures the streaming path, not decoding; real
 * 100 MB PNG and BMP images show what decoding adds (the bare server decodes nothing).
 */
export const ingestLargeUpload: Scenario = {
  name: 'ingest',
  async run(context) {
    const payloads: Payload[] = [
      { label: '100 MB upload (small JPEG + padding)', image: await context.files.paddedJpeg(payloadBytes), streamingOnly: true },
      { label: 'real ~100 MB PNG (7200×5400, decoded)', image: await context.files.png(7200, 5400), streamingOnly: false },
      { label: 'real 100 MB BMP (6666×5000, decoded)', image: await context.files.bmp(6666, 5000), streamingOnly: false },
    ];
    const bareDir = await context.files.scratch('bare-ingest');
    const bare = await startBareServer(bareDir);
    const server = await startBenchServer({ MAX_UPLOAD_BYTES: String(110 * 1_000_000) });
    let n = 0;
    /** One upload: MB/s seen by the client, RSS growth and CPU seconds of the receiving process. */
    const measure = async (pid: number, upload: () => Promise<UploadTiming>) => {
      const memory = watchMemory(pid);
      const cpuBefore = readCpuSeconds(pid);
      const timing = await upload();
      const { growth } = memory.stop();
      return { rate: timing.imageBytes / 1e6 / timing.seconds, growth: growth / mb, cpu: readCpuSeconds(pid) - cpuBefore };
    };
    try {
      const rows: ResultRow[] = [];
      for (const { label, image, streamingOnly } of payloads) {
        const toBare = async () => {
          const result = await measure(bare.pid, () => postImage(bare.url, image, ++n));
          // Outside the timed window: the bare server keeps what it received, but 100 MB a run adds up.
          await rm(bareDir, { recursive: true, force: true });
          await mkdir(bareDir, { recursive: true });
          return result;
        };
        const toImagegram = () => measure(server.pid, () => server.upload(image, ++n));
        context.log(`${label}: ${fmt(image.size / 1e6)} MB`);
        // Warm-up, reported apart: the first upload loads lazily imported code and warms the page cache.
        const bareCold = await toBare();
        const cold = await toImagegram();
        context.log(`  warm-up: imagegram ${fmt(cold.rate)} MB/s, RSS +${fmt(cold.growth)} MB (bare +${fmt(bareCold.growth)})`);

        const pairs: Pair[] = [];
        const growth: number[] = [];
        const bareGrowth: number[] = [];
        const cpu: Pair[] = [];
        for (let i = 0; i < context.pairs; i++) {
          const baseline = await toBare();
          const imagegram = await toImagegram();
          pairs.push({ baseline: baseline.rate, imagegram: imagegram.rate });
          growth.push(imagegram.growth);
          bareGrowth.push(baseline.growth);
          cpu.push({ baseline: baseline.cpu, imagegram: imagegram.cpu });
          context.log(
            `  pair ${i + 1}: bare ${fmt(baseline.rate)} MB/s, imagegram ${fmt(imagegram.rate)} MB/s; RSS +${fmt(imagegram.growth)} MB ` +
              `(bare +${fmt(baseline.growth)}); CPU s: imagegram ${fmt(imagegram.cpu, 2)}, bare ${fmt(baseline.cpu, 2)}`,
          );
        }
        const summary = summarisePairs(pairs);
        const cpuSummary = summarisePairs(cpu);
        rows.push(
          {
            scenario: `${label}: ingest rate (server CPU ${fmt(cpuSummary.imagegram, 2)} s vs bare ${fmt(cpuSummary.baseline, 2)} s)`,
            metric: 'MB/s',
            ratio: fmt(summary.ratio, 2),
            imagegram: fmt(summary.imagegram, 0, 'MB/s'),
            baseline: `${fmt(summary.baseline, 0, 'MB/s')} (bare http + SHA-256 + fsync)`,
            target: streamingOnly ? `ratio ≥ ${ratioTarget}` : '',
            met: streamingOnly ? summary.ratio >= ratioTarget : null,
          },
          {
            scenario: `${label}: server RSS growth, peak − before`,
            metric: 'MB: first upload of this payload / later ones, median (max)',
            ratio: '–',
            imagegram: `${fmt(cold.growth)} / ${fmt(median(growth))} (${fmt(max(growth))})`,
            baseline: `${fmt(bareCold.growth)} / ${fmt(median(bareGrowth))} (${fmt(max(bareGrowth))})`,
            target: streamingOnly ? `< ${rssTargetMb} MB` : '',
            met: streamingOnly ? Math.max(max(growth), cold.growth) < rssTargetMb : null,
          },
        );
      }
      return { rows };
    } finally {
      await server.cleanup();
      await bare.stop();
    }
  },
};
