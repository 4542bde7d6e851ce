import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeBmp } from '../../../test/fixtures/bmp-writer.js';
import { spawnTracked } from '../../../test/support/processes.js';
import { BmpDecoderPool, BmpDecoderUnavailable } from './bmp-decoder-pool.js';
import { parseBmpHeader } from './bmp-header.js';

const bytes = encodeBmp({ width: 40, height: 30, bitsPerPixel: 24, pixel: () => [200, 10, 10, 255] });
let dir: string;
let bmpPath: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagegram-bmp-pool-'));
  bmpPath = join(dir, 'red.bmp');
  await writeFile(bmpPath, bytes);
});
after(() => rm(dir, { recursive: true, force: true }));

test('a decoder thread that cannot load fails the task instead of leaving it pending', async () => {
  const pool = new BmpDecoderPool(['--import', 'imagegram-no-such-module']);
  try {
    await assert.rejects(pool.renderDerivative(bmpPath, parseBmpHeader(bytes), bytes.length, 1e6), BmpDecoderUnavailable);
  } finally {
    await pool.close();
  }
});

test('the decoder threads load when tsx was registered from code, as bin/imagegram.js does with a stale dist/', async () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const source = (file: string) => JSON.stringify(new URL(file, import.meta.url).href);
  const script = join(dir, 'stale-dist.mjs');
  await writeFile(
    script,
    `const { register } = await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))});
    register();
    const { BmpDecoderPool } = await import(${source('./bmp-decoder-pool.ts')});
    const { parseBmpHeader } = await import(${source('./bmp-header.ts')});
    const { readFileSync } = await import('node:fs');
    const bytes = readFileSync(${JSON.stringify(bmpPath)});
    const pool = new BmpDecoderPool();
    const jpeg = await pool.renderDerivative(${JSON.stringify(bmpPath)}, parseBmpHeader(bytes), bytes.length, 1e6);
    await pool.close();
    process.stdout.write(String(jpeg[0] === 0xff && jpeg[1] === 0xd8));`,
  );
  // No --import tsx on the command line: the child registers tsx itself, as the bin script does.
  const child = spawnTracked(process.execPath, [script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise((resolve) => child.once('close', resolve));
  assert.equal(code, 0, stderr);
  assert.equal(stdout, 'true');
});
