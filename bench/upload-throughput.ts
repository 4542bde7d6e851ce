import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { startBenchServer, type BenchServer } from './imagegram-server.js';
import { bareDerivative } from './bare-derivative.js';
import { startBareServer, startFastifyPeer, type BareServer } from './bare-ingest-process.js';
import type { BenchImage } from './fixtures.js';
import { postImage, postRawImage } from './multipart-body.js';
import { readCpuSeconds } from './process-stats.js';
import { runFor, type Scenario, type ScenarioContext } from './scenario.js';
import { fmt, median, summarisePairs, type Pair, type ResultRow } from './stats.js';

/** Both sides keep 2 images in flight: sharp uses about one thread per image here (STYLE.md). */
const inFlight = 2;
/** Each side of a pair runs this long (plus its last images), so a pair sees the same machine weather. */
const phaseSeconds = 1.5;
/** Each side's warm-up before the first round (see measureFormat). */
const warmUpSeconds = 3;
const target = 0.8;
/** Against the durable Fastify + @fastify/multipart + sharp peer (bench/fastify-peer-server.ts). */
const peerTarget = 0.9;

/**
 * Scenario 1: images/s through `POST /images` (stream, hash, stage, probe, EXIF, derivative,
 * promote, commit — each upload new bytes, so each renders a derivative) versus bare sharp
 * rendering the same derivative from the same file (the upload budget), 2 in flight everywhere.
 * A second baseline, a bare `node:http` endpoint that receives the same image durably (SHA-256,
 * write, fsync) and then renders it, separates the cost of receiving bytes from imagegram's own.
 * The third, the durable peer (Fastify + @fastify/multipart + sharp, same recipe, original and
 * derivative fsynced before the 201), is what the product is held to: ≥ 0.9× its images/s. Its
 * phase and imagegram's swap order every round, so neither always runs on the warmer machine.
 */
export const uploadThroughput: Scenario = {
  name: 'upload',
  async run(context) {
    // The libvips operation cache would let the bare side reuse work on the same path; the server
    // never sees a path twice (a fresh staging file per upload), so the baseline must not either.
    sharp.cache(false);
    const bareDir = await context.files.scratch('bare-upload');
    const bareHttp = await startBareServer(bareDir, { derivative: true });
    const peerDir = await context.files.scratch('fastify-peer');
    const peer = await startFastifyPeer(peerDir);
    const server = await startBenchServer();
    try {
      const rows: ResultRow[] = [];
      for (const [label, image] of [
        ['12 MP JPEG', await context.files.jpeg12mp()],
        ['12 MP PNG', await context.files.png12mp()],
      ] as const) {
        rows.push(...(await measureFormat(context, { server, bareHttp, bareDir, peer, peerDir }, label, image)));
      }
      return { rows };
    } finally {
      await server.cleanup();
      await bareHttp.stop();
      await peer.stop();
    }
  },
};

let uploadNumber = 0;

/** This process's CPU time so far (all threads, libvips' included), in seconds. */
function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

interface Arm {
  rate: number;
  /** CPU ms per image of the process doing the work (server, or this process for bare sharp). */
  cpuMs: number;
  /** CPU ms per image of this process as the HTTP client (0 for bare sharp, which is this process). */
  clientMs: number;
}

/** Runs `task` 2 at a time for `seconds`: the rate, and CPU per image of the worker (`cpu`) and of this process. */
async function measureArm(seconds: number, cpu: () => number, task: () => Promise<unknown>): Promise<Arm> {
  const cpuBefore = cpu();
  const clientBefore = ownCpuSeconds();
  const { count, seconds: elapsed } = await runFor(seconds, inFlight, task);
  const cpuMs = ((cpu() - cpuBefore) / count) * 1000;
  const clientMs = cpu === ownCpuSeconds ? 0 : ((ownCpuSeconds() - clientBefore) / count) * 1000;
  return { rate: count / elapsed, cpuMs, clientMs };
}

interface Targets {
  server: BenchServer;
  bareHttp: BareServer;
  bareDir: string;
  peer: BareServer;
  peerDir: string;
}

async function measureFormat(
  context: ScenarioContext,
  { server, bareHttp, bareDir, peer, peerDir }: Targets,
  label: string,
  image: BenchImage,
): Promise<ResultRow[]> {
  const bareSharp = (seconds: number): Promise<Arm> => measureArm(seconds, ownCpuSeconds, () => bareDerivative(image.path));
  const imagegram = (seconds: number): Promise<Arm> =>
    measureArm(
      seconds,
      () => readCpuSeconds(server.pid),
      () => server.upload(image, ++uploadNumber),
    );
  const bareUpload = async (seconds: number): Promise<Arm> => {
    const arm = await measureArm(
      seconds,
      () => readCpuSeconds(bareHttp.pid),
      () => postRawImage(bareHttp.url, image, ++uploadNumber),
    );
    await rm(bareDir, { recursive: true, force: true }); // outside the timed window
    await mkdir(bareDir, { recursive: true });
    return arm;
  };

  const fastifyPeer = async (seconds: number): Promise<Arm> => {
    const arm = await measureArm(
      seconds,
      () => readCpuSeconds(peer.pid),
      () => postImage(peer.url, image, ++uploadNumber),
    );
    await rm(peerDir, { recursive: true, force: true }); // outside the timed window
    await mkdir(join(peerDir, 'originals'), { recursive: true });
    await mkdir(join(peerDir, 'derivatives'), { recursive: true });
    return arm;
  };

  // Warm-up (not counted): code paths, page cache. Long enough for V8 to finish tiering up each
  // server's hot code (imagegram's CPU per image still fell by ~10 % over its first 100 uploads
  // with 0.3 s), so the rounds compare servers as they run in production: warm.
  context.log(`${label}: ${fmt(image.size / 1e6)} MB`);
  await bareSharp(warmUpSeconds);
  await imagegram(warmUpSeconds);
  await bareUpload(warmUpSeconds);
  await fastifyPeer(warmUpSeconds);

  const vsSharp: Pair[] = [];
  const vsUpload: Pair[] = [];
  const vsPeer: Pair[] = [];
  const arms: { sharp: Arm; imagegram: Arm; upload: Arm; peer: Arm }[] = [];
  for (let i = 0; i < context.pairs; i++) {
    // imagegram and the peer run back to back, in alternating order; the bare baselines on either side.
    const sharpArm = await bareSharp(phaseSeconds);
    const peerFirst = i % 2 === 0;
    const firstArm = await (peerFirst ? fastifyPeer : imagegram)(phaseSeconds);
    const secondArm = await (peerFirst ? imagegram : fastifyPeer)(phaseSeconds);
    const round = {
      sharp: sharpArm,
      imagegram: peerFirst ? secondArm : firstArm,
      peer: peerFirst ? firstArm : secondArm,
      upload: await bareUpload(phaseSeconds),
    };
    arms.push(round);
    vsSharp.push({ baseline: round.sharp.rate, imagegram: round.imagegram.rate });
    vsUpload.push({ baseline: round.upload.rate, imagegram: round.imagegram.rate });
    vsPeer.push({ baseline: round.peer.rate, imagegram: round.imagegram.rate });
    context.log(
      `  round ${i + 1}: images/s bare sharp ${fmt(round.sharp.rate, 2)}, imagegram ${fmt(round.imagegram.rate, 2)}, peer ${fmt(round.peer.rate, 2)}, bare upload ${fmt(round.upload.rate, 2)}; ` +
        `CPU ms/image: bare sharp ${fmt(round.sharp.cpuMs, 0)}, imagegram ${fmt(round.imagegram.cpuMs, 0)} + client ${fmt(round.imagegram.clientMs, 0)}, ` +
        `peer ${fmt(round.peer.cpuMs, 0)} + client ${fmt(round.peer.clientMs, 0)}, bare upload ${fmt(round.upload.cpuMs, 0)} + client ${fmt(round.upload.clientMs, 0)}`,
    );
  }
  const sharpSummary = summarisePairs(vsSharp);
  const uploadSummary = summarisePairs(vsUpload);
  const peerSummary = summarisePairs(vsPeer);
  const peerCpu = summarisePairs(arms.map((round) => ({ baseline: round.peer.cpuMs, imagegram: round.imagegram.cpuMs })));
  const cpu = (pick: (round: (typeof arms)[number]) => number): string => fmt(median(arms.map(pick)), 0);
  const name = `upload → 600×600 derivative, ${label} (${fmt(image.size / 1e6)} MB), 2 in flight`;
  return [
    {
      scenario: `${name}, vs the durable Fastify + @fastify/multipart + sharp peer`,
      metric: 'images/s',
      ratio: fmt(peerSummary.ratio, 2),
      imagegram: fmt(peerSummary.imagegram, 2, '/s'),
      baseline: `${fmt(peerSummary.baseline, 2, '/s')} (peer: multipart → SHA-256 → file, fsync, sharp, JPEG write + fsync + rename + dir fsync)`,
      target: `ratio ≥ ${peerTarget}`,
      met: peerSummary.ratio >= peerTarget,
    },
    {
      scenario: `${name}: server CPU per image vs the durable peer, all threads (+ this process as HTTP client)`,
      metric: 'CPU ms/image (ratio: peer / imagegram, median of pairs)',
      ratio: fmt(1 / peerCpu.ratio, 2),
      imagegram: `${cpu((r) => r.imagegram.cpuMs)} + ${cpu((r) => r.imagegram.clientMs)}`,
      baseline: `${cpu((r) => r.peer.cpuMs)} + ${cpu((r) => r.peer.clientMs)} (peer)`,
      target: '',
      met: null,
    },
    {
      scenario: name,
      metric: 'images/s',
      ratio: fmt(sharpSummary.ratio, 2),
      imagegram: fmt(sharpSummary.imagegram, 2, '/s'),
      baseline: `${fmt(sharpSummary.baseline, 2, '/s')} (bare sharp, in-process)`,
      target: `ratio ≥ ${target}`,
      met: sharpSummary.ratio >= target,
    },
    {
      scenario: `${name}, vs a bare durable upload endpoint`,
      metric: 'images/s',
      ratio: fmt(uploadSummary.ratio, 2),
      imagegram: fmt(uploadSummary.imagegram, 2, '/s'),
      baseline: `${fmt(uploadSummary.baseline, 2, '/s')} (bare http: SHA-256, write, fsync, then sharp)`,
      target: '',
      met: null,
    },
    {
      scenario: `${name}: CPU per image, all threads (+ this process as HTTP client)`,
      metric: 'CPU ms/image',
      ratio: '–',
      imagegram: `${cpu((r) => r.imagegram.cpuMs)} + ${cpu((r) => r.imagegram.clientMs)}`,
      baseline: `${cpu((r) => r.sharp.cpuMs)} (bare sharp); ${cpu((r) => r.upload.cpuMs)} + ${cpu((r) => r.upload.clientMs)} (bare http)`,
      target: '',
      met: null,
    },
  ];
}
