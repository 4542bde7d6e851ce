import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { isAppError, type ErrorCode } from '../../core/errors.js';
import type { ImageProbe } from '../../core/images/image.js';
import {
  blue,
  bmpVariants,
  exifPosition,
  exifTakenAt,
  makeFixtures,
  quadrantColours,
  red,
  white,
  writeLargeBmp,
  type Fixtures,
  type Rgba,
} from '../../../test/support/fixtures.js';
import { SharpImageProcessor } from './sharp-image-processor.js';

const limits = { maxPixels: 100_000_000, maxDimension: 50_000 };
let dir: string;
let fixtures: Fixtures;
let processor: SharpImageProcessor;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagegram-image-'));
  fixtures = await makeFixtures(dir);
  processor = new SharpImageProcessor(limits);
});
after(async () => {
  await processor.close();
  await rm(dir, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (error) => isAppError(error, code) || assert.fail(`expected ${code}, got ${String(error)}`));
}

async function render(name: string): Promise<Buffer> {
  const path = fixtures.path(name);
  return processor.renderDerivative(path, await processor.probe(path));
}

/** The derivative's colour at four points, one in the middle of each quadrant. */
async function quadrantsOf(jpeg: Buffer): Promise<{ topLeft: Rgba; topRight: Rgba; bottomLeft: Rgba; bottomRight: Rgba }> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number): Rgba => {
    const i = (y * info.width + x) * info.channels;
    return [data[i]!, data[i + 1]!, data[i + 2]!, 255];
  };
  return { topLeft: at(150, 150), topRight: at(450, 150), bottomLeft: at(150, 450), bottomRight: at(450, 450) };
}

/** JPEG rounding and chroma subsampling move colours a little; a wrong decode moves them a lot. */
function assertColour(actual: Rgba, expected: Rgba, where: string): void {
  const close = [0, 1, 2].every((c) => Math.abs(actual[c]! - expected[c]!) <= 24);
  assert.ok(close, `${where}: got rgb(${actual.slice(0, 3).join(',')}), want rgb(${expected.slice(0, 3).join(',')})`);
}

function assertQuadrants(actual: Record<string, Rgba>, expected: Record<string, Rgba>): void {
  for (const [where, colour] of Object.entries(expected)) assertColour(actual[where]!, colour, where);
}

describe('probe', () => {
  const sizes: [string, Omit<ImageProbe, 'decodeBytes'>][] = [
    ['png', { format: 'png', width: 64, height: 48 }],
    ['jpeg', { format: 'jpeg', width: 64, height: 48 }],
    ['webp', { format: 'webp', width: 64, height: 48 }],
    ['tiff', { format: 'tiff', width: 64, height: 48 }],
    ['avif', { format: 'avif', width: 64, height: 48 }],
    ['two-frame-gif', { format: 'gif', width: 32, height: 24 }],
    ['bmp-24-bit', { format: 'bmp', width: 41, height: 30 }],
    ['bmp-24-bit-top-down', { format: 'bmp', width: 41, height: 30 }],
    ['bmp-os2-24-bit', { format: 'bmp', width: 41, height: 30 }],
    // Stored 80×40 with EXIF orientation 6: reported as displayed.
    ['exif-rotated-jpeg', { format: 'jpeg', width: 40, height: 80 }],
  ];
  for (const [name, expected] of sizes) {
    test(`${name}: format from the bytes, size from the header`, async () => {
      const { decodeBytes, ...size } = await processor.probe(fixtures.path(name));
      assert.deepEqual(size, expected);
      assert.ok(decodeBytes > 0);
    });
  }

  test('a text file named .png is UNSUPPORTED_FORMAT, and so is an empty file', async () => {
    await rejectsWith(processor.probe(fixtures.path('text-named-png')), 'UNSUPPORTED_FORMAT');
    const empty = join(dir, 'empty.jpg');
    await writeFile(empty, '');
    await rejectsWith(processor.probe(empty), 'UNSUPPORTED_FORMAT');
  });

  test('bombs: the huge header size comes back at once, nothing is decoded', async () => {
    const started = performance.now();
    assert.deepEqual(await processor.probe(fixtures.path('bomb-png')), {
      format: 'png',
      width: 20_000,
      height: 20_000,
      decodeBytes: 48 * 2 ** 20 + 20_000 * 3 * 2048,
    });
    // A BMP streams through a 1 MiB chunk into the window the derivative needs: 30000² shrunk by 25.
    assert.deepEqual(await processor.probe(fixtures.path('bomb-bmp')), {
      format: 'bmp',
      width: 30_000,
      height: 30_000,
      decodeBytes: 48 * 2 ** 20 + 2 ** 20 + 1200 * 1200 * 3,
    });
    // Decoding 400 MP would take seconds and gigabytes.
    assert.ok(performance.now() - started < 1000);
  });

  test('a BMP whose header is cut short is CORRUPT_IMAGE; one with embedded PNG data is UNSUPPORTED_FORMAT', async () => {
    const bmp = await readFile(fixtures.path('bmp-24-bit'));
    const cut = join(dir, 'cut-header.bmp');
    await writeFile(cut, bmp.subarray(0, 30));
    await rejectsWith(processor.probe(cut), 'CORRUPT_IMAGE');
    const embedded = join(dir, 'embedded-png.bmp');
    const header = Buffer.from(bmp);
    header.writeUInt32LE(5, 30); // BI_PNG
    await writeFile(embedded, header);
    await rejectsWith(processor.probe(embedded), 'UNSUPPORTED_FORMAT');
  });
});

describe('renderDerivative', () => {
  test('is a 600×600 baseline sRGB JPEG without any metadata', async () => {
    const metadata = await sharp(await render('exif-rotated-jpeg')).metadata();
    assert.equal(metadata.format, 'jpeg');
    assert.equal(metadata.width, 600);
    assert.equal(metadata.height, 600);
    assert.equal(metadata.space, 'srgb');
    assert.equal(metadata.channels, 3);
    assert.equal(metadata.isProgressive, false);
    // The source carries EXIF with GPS, an orientation tag and an ICC profile: none may survive.
    assert.equal(metadata.exif, undefined);
    assert.equal(metadata.orientation, undefined);
    assert.equal(metadata.icc, undefined);
    assert.equal(metadata.xmp, undefined);
    assert.equal(metadata.iptc, undefined);
  });

  test('applies the EXIF orientation before cropping', async () => {
    // Stored left red / right blue; orientation 6 turns it upright as red on top, blue below.
    assertQuadrants(await quadrantsOf(await render('exif-rotated-jpeg')), { topLeft: red, topRight: red, bottomLeft: blue, bottomRight: blue });
  });

  for (const name of ['png', 'jpeg', 'webp', 'tiff', 'avif', 'jpeg-stray-bytes']) {
    test(`${name}: cover crop keeps every quadrant where it was`, async () => {
      assertQuadrants(await quadrantsOf(await render(name)), quadrantColours);
    });
  }

  test('flattens transparency on white', async () => {
    assertQuadrants(await quadrantsOf(await render('transparent-png')), { topLeft: white, topRight: blue, bottomLeft: white, bottomRight: blue });
  });

  test('converts CMYK to sRGB, with and without an embedded profile', async () => {
    for (const name of ['cmyk-jpeg', 'cmyk-icc-jpeg']) {
      const jpeg = await render(name);
      assert.equal((await sharp(jpeg).metadata()).space, 'srgb');
      const { topLeft } = await quadrantsOf(jpeg);
      assert.ok(topLeft[0]! > 200 && topLeft[1]! < 70 && topLeft[2]! < 70, `${name} came out rgb(${topLeft.join(',')})`);
    }
  });

  test('renders the first frame of an animated GIF', async () => {
    assertQuadrants(await quadrantsOf(await render('two-frame-gif')), { topLeft: red, bottomRight: red });
  });

  for (const name of ['truncated-jpeg', 'truncated-png', 'truncated-bmp']) {
    test(`${name} is CORRUPT_IMAGE`, async () => {
      await rejectsWith(render(name), 'CORRUPT_IMAGE');
    });
  }

  test('bombs are IMAGE_DIMENSIONS_TOO_LARGE, even when the probe passed in understates them', async () => {
    for (const [name, format] of [
      ['bomb-png', 'png'],
      ['bomb-bmp', 'bmp'],
    ] as const) {
      await rejectsWith(render(name), 'IMAGE_DIMENSIONS_TOO_LARGE');
      // The decoder's own check (sharp's limitInputPixels, the BMP header check) must hold too.
      await rejectsWith(processor.renderDerivative(fixtures.path(name), { format, width: 10, height: 10, decodeBytes: 1 }), 'IMAGE_DIMENSIONS_TOO_LARGE');
    }
  });

  for (const [variant, { expected }] of Object.entries(bmpVariants)) {
    test(`BMP ${variant}: the right colour in every quadrant`, async () => {
      assertQuadrants(await quadrantsOf(await render(`bmp-${variant}`)), expected);
    });
  }

  test('the event loop stays responsive while a 12 MP BMP decodes', async () => {
    const path = join(dir, 'large.bmp');
    await writeLargeBmp(path, 4000, 3000);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const jpeg = await processor.renderDerivative(path, await processor.probe(path));
    delay.disable();
    assertQuadrants(await quadrantsOf(jpeg), { topLeft: red, topRight: blue });
    // Decoding on the main thread would block it for about a second; the bound is loose on purpose.
    const p99 = delay.percentile(99) / 1e6;
    assert.ok(p99 < 200, `event loop p99 delay ${p99.toFixed(1)} ms`);
  });
});

describe('readMetadata', () => {
  const empties = { cameraMake: null, cameraModel: null, takenAt: null, hasGps: false, gpsLatitude: null, gpsLongitude: null };

  async function metadataOf(name: string) {
    const path = fixtures.path(name);
    return processor.readMetadata(path, (await processor.probe(path)).format);
  }

  test('reads camera, taken-at (camera time as UTC, whatever the server zone) and GPS', async () => {
    const zone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      const metadata = await metadataOf('exif-rotated-jpeg');
      assert.equal(metadata.cameraMake, 'Canon');
      assert.equal(metadata.cameraModel, 'EOS 5D Mark IV');
      assert.equal(metadata.takenAt, exifTakenAt.epochMs);
      assert.equal(metadata.hasGps, true);
      assert.ok(Math.abs(metadata.gpsLatitude! - exifPosition.latitude) < 1e-6, `latitude ${metadata.gpsLatitude}`);
      assert.ok(Math.abs(metadata.gpsLongitude! - exifPosition.longitude) < 1e-6, `longitude ${metadata.gpsLongitude}`);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  for (const format of ['png', 'webp', 'avif']) {
    test(`reads EXIF from ${format} too`, async () => {
      assert.deepEqual(await metadataOf(`exif-${format}`), { ...empties, cameraMake: 'Nikon', cameraModel: 'Z 6', takenAt: exifTakenAt.epochMs });
    });
  }

  test('falls back to CreateDate when DateTimeOriginal is absent', async () => {
    assert.deepEqual(await metadataOf('exif-create-date-jpeg'), { ...empties, takenAt: exifTakenAt.epochMs });
  });

  test('gives empties, never an error, for images without EXIF or with broken data', async () => {
    for (const name of ['png', 'two-frame-gif', 'bmp-24-bit', 'truncated-jpeg']) {
      assert.deepEqual(await metadataOf(name), empties, name);
    }
    const garbage = join(dir, 'garbage.jpg');
    await writeFile(garbage, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x40]), Buffer.from('Exif\0\0II*\0'), Buffer.alloc(64, 0xff)]));
    assert.deepEqual(await processor.readMetadata(garbage, 'jpeg'), empties);
  });

  test('throws when the file cannot be read, so the metadata job retries instead of recording empties', async () => {
    for (const format of ['jpeg', 'webp'] as const) {
      await assert.rejects(processor.readMetadata(join(dir, `absent.${format}`), format), { code: 'ENOENT' });
    }
  });
});
