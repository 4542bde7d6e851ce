/**
 * `node --import tsx bench/dedup-timing.ts [--runs 7] [--width 4000 --height 3000]`: does an
 * upload's response time tell whether another user already holds the same bytes? Alternates, per
 * run: a fresh upload (new bytes) and an upload of bytes another user uploaded just before, same
 * size and format; reports the medians and the median of the per-run ratios (someone else's ÷
 * fresh: 1.0 means no difference). The owner's own re-upload (`duplicate: true`, allowed to be
 * fast: the owner knows they have it) is shown for reference.
 */
import { parseArgs } from 'node:util';
import { signUpAndLogIn } from '../test/support/client.js';
import { BenchFiles, type BenchImage } from './fixtures.js';
import { startBenchServer } from './imagegram-server.js';
import { request } from 'undici';
import { multipartImage, postImage } from './multipart-body.js';
import { fmt, median } from './stats.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    width: { type: 'string', default: '4000' },
    height: { type: 'string', default: '3000' },
  },
});
const runs = Number(values.runs);
const [width, height] = [Number(values.width), Number(values.height)];

const files = new BenchFiles();
const server = await startBenchServer();
try {
  const image = await files.png(width, height);
  const other = await signUpAndLogIn(server.baseUrl, 'other');
  const url = `${server.baseUrl}/images`;
  // Tags: 1000+ fresh, 2000+ held by the bench user first, then uploaded by `other`.
  await server.upload(image, 999); // warm-up: first decode loads libraries
  const fresh: number[] = [];
  const someoneElses: number[] = [];
  const ownDuplicate: number[] = [];
  for (let run = 0; run < runs; run++) {
    await server.upload(image, 2000 + run);
    // Alternate which side goes first, so drift in machine load hits both alike.
    const measureFresh = async () => fresh.push((await postImage(url, image, 1000 + run, other.headers)).seconds * 1000);
    const measureOthers = async () => someoneElses.push((await postImage(url, image, 2000 + run, other.headers)).seconds * 1000);
    if (run % 2 === 0) {
      await measureFresh();
      await measureOthers();
    } else {
      await measureOthers();
      await measureFresh();
    }
    ownDuplicate.push(await postDuplicate(url, image, 2000 + run, server.user.headers));
  }
  const ratios = fresh.map((f, i) => someoneElses[i]! / f);
  const ms = (values: number[]) => values.map((v) => v.toFixed(0)).join(' ');
  process.stdout.write(
    [
      `${width}×${height} PNG, ${fmt(image.size / 2 ** 20, 1)} MiB, ${runs} runs`,
      `fresh bytes            median ${fmt(median(fresh), 0)} ms   [${ms(fresh)}]`,
      `someone else's bytes   median ${fmt(median(someoneElses), 0)} ms   [${ms(someoneElses)}]`,
      `own re-upload (dup)    median ${fmt(median(ownDuplicate), 0)} ms   [${ms(ownDuplicate)}]`,
      `someone else's ÷ fresh: median of per-run ratios ${fmt(median(ratios), 2)}  [${ratios.map((r) => r.toFixed(2)).join(' ')}]`,
      '',
    ].join('\n'),
  );
} finally {
  await server.cleanup();
  await files.cleanup();
}

/** Milliseconds of an upload the server must answer 200 `duplicate: true` (postImage wants 201). */
async function postDuplicate(url: string, image: BenchImage, n: number, headers: Record<string, string>): Promise<number> {
  const streamed = multipartImage(image, n);
  const start = performance.now();
  const response = await request(url, { method: 'POST', headers: { ...streamed.headers, ...headers }, body: streamed.body });
  const body = (await response.body.json()) as { duplicate?: boolean };
  if (response.statusCode !== 200 || body.duplicate !== true) throw new Error(`expected 200 duplicate, got ${response.statusCode}`);
  return performance.now() - start;
}
