import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { encodeBmp, type BmpSpec } from '../../../test/fixtures/bmp-writer.js';
import { bmpHeight, bmpVariantBytes, bmpVariants, bmpWidth, quadrants, type Rgba } from '../../../test/support/fixtures.js';
import { BmpDataError, decodeBmpWindow, type ByteReader } from './bmp-decoder.js';
import { parseBmpHeader } from './bmp-header.js';
import { derivativeSourceWindow, toDerivative, type SourceWindow } from './derivative-recipe.js';

/** Reads `bytes` at most `piece` bytes per call, as a file may (and so every chunk boundary is crossed). */
function readerOf(bytes: Uint8Array, piece = Infinity): ByteReader {
  return async (target, position) => {
    const available = bytes.subarray(position, position + Math.min(target.length, piece));
    target.set(available);
    return available.length;
  };
}

function decode(bytes: Buffer, window?: Partial<SourceWindow>, piece?: number) {
  const header = parseBmpHeader(bytes);
  const full = { left: 0, top: 0, width: header.width, height: header.height, shrink: 1 };
  return decodeBmpWindow(readerOf(bytes, piece), header, bytes.length, { ...full, ...window });
}

/** A colour as the derivative shows it: translucent pixels over white (the fixtures' alpha is 0 or 255). */
function overWhite([r, g, b, a]: Rgba): number[] {
  return a === 0 ? [255, 255, 255] : [r, g, b];
}

function pixelAt(image: { width: number; pixels: Uint8Array }, x: number, y: number): number[] {
  const at = (y * image.width + x) * 3;
  return [...image.pixels.subarray(at, at + 3)];
}

describe('BMP decoding: every pixel of every variant', () => {
  for (const [name, variant] of Object.entries(bmpVariants)) {
    // Whole reads, and reads of 7 bytes at a time (split codes, rows and palette entries).
    for (const piece of [Infinity, 7]) {
      test(`${name}${piece === 7 ? ', read 7 bytes at a time' : ''}`, async () => {
        const width = variant.width ?? bmpWidth;
        const image = await decode(bmpVariantBytes(name), {}, piece);
        assert.equal(image.width, width);
        assert.equal(image.height, bmpHeight);
        assert.equal(image.pixels.length, width * bmpHeight * 3);
        const pixel = variant.pixel ?? quadrants(width, bmpHeight);
        // A 32-bit file whose alpha bytes are all zero is opaque: its colours show as they are.
        const alphaIgnored = [...Array(width * bmpHeight).keys()].every((i) => pixel(i % width, Math.floor(i / width))[3] === 0);
        for (let y = 0; y < bmpHeight; y++) {
          for (let x = 0; x < width; x++) {
            const want = alphaIgnored ? pixel(x, y).slice(0, 3) : overWhite(pixel(x, y));
            assert.deepEqual(pixelAt(image, x, y), want, `pixel at ${x},${y}`);
          }
        }
      });
    }
  }
});

describe('BMP decoding: window and shrink', () => {
  // 8-bit grey levels, distinct per pixel, so any misplaced row or column changes an average.
  const width = 13;
  const height = 11;
  const grey = (x: number, y: number): Rgba => {
    const v = (x * 17 + y * 7) % 256;
    return [v, v, 255 - v, 255];
  };
  const window = { left: 2, top: 1, width: 9, height: 8, shrink: 3 };
  /** The block averages the window should come to, straight from the pixel function. */
  function expectedShrunk(): number[][] {
    const out: number[][] = [];
    for (let oy = 0; oy < Math.ceil(window.height / window.shrink); oy++) {
      for (let ox = 0; ox < Math.ceil(window.width / window.shrink); ox++) {
        const sums = [0, 0, 0];
        let count = 0;
        for (let y = window.top + oy * 3; y < Math.min(window.top + window.height, window.top + oy * 3 + 3); y++) {
          for (let x = window.left + ox * 3; x < Math.min(window.left + window.width, window.left + ox * 3 + 3); x++) {
            for (const [c, v] of grey(x, y).slice(0, 3).entries()) sums[c]! += v;
            count++;
          }
        }
        out.push(sums.map((s) => Math.round(s / count)));
      }
    }
    return out;
  }
  const specs: Record<string, Omit<BmpSpec, 'width' | 'height' | 'pixel'>> = {
    '24-bit bottom-up': { bitsPerPixel: 24 },
    '24-bit top-down': { bitsPerPixel: 24, topDown: true },
    '32-bit': { bitsPerPixel: 32 },
    '16-bit 565': { bitsPerPixel: 16, compression: 'bitfields', masks: { r: 0xf800, g: 0x07e0, b: 0x001f, a: 0 } },
  };
  for (const [name, spec] of Object.entries(specs)) {
    test(`${name}: the window's block averages, rows in order`, async () => {
      const bytes = encodeBmp({ width, height, pixel: grey, ...spec });
      const image = await decode(bytes, window);
      assert.equal(image.width, 3);
      assert.equal(image.height, 3);
      const got = [...Array(9).keys()].map((i) => pixelAt(image, i % 3, Math.floor(i / 3)));
      // 16-bit keeps 5–6 bits a channel: within a step of 255/31.
      const tolerance = spec.bitsPerPixel === 16 ? 9 : 0;
      for (const [i, want] of expectedShrunk().entries()) {
        for (const [c, v] of want.entries()) assert.ok(Math.abs(got[i]![c]! - v) <= tolerance, `block ${i} channel ${c}: ${got[i]![c]} vs ${v}`);
      }
    });
  }

  test('paletted and RLE8: the same block averages', async () => {
    const palettePixel = (x: number, y: number): Rgba => grey(x, y);
    for (const compression of ['rgb', 'rle'] as const) {
      const bytes = encodeBmp({ width, height, pixel: palettePixel, bitsPerPixel: 8, compression });
      const image = await decode(bytes, window, 5);
      const got = [...Array(9).keys()].map((i) => pixelAt(image, i % 3, Math.floor(i / 3)));
      assert.deepEqual(got, expectedShrunk(), compression);
    }
  });

  test("rows wider than a read chunk: only the window's bytes are read, and right", async () => {
    const wide = 400_000; // 1.2 MB a row, past the 1 MiB chunk
    const stripes = (x: number): Rgba => (x % 2 === 0 ? [10, 20, 30, 255] : [200, 100, 0, 255]);
    const bytes = encodeBmp({ width: wide, height: 2, bitsPerPixel: 24, pixel: (x) => stripes(x) });
    const reads: number[] = [];
    const header = parseBmpHeader(bytes);
    const read: ByteReader = async (target, position) => {
      reads.push(target.length);
      return readerOf(bytes)(target, position);
    };
    const image = await decodeBmpWindow(read, header, bytes.length, { left: 199_999, top: 0, width: 3, height: 2, shrink: 1 });
    assert.deepEqual(pixelAt(image, 0, 0), [200, 100, 0]);
    assert.deepEqual(pixelAt(image, 1, 1), [10, 20, 30]);
    assert.ok(Math.max(...reads) < 16, `largest read ${Math.max(...reads)} bytes`);
  });
});

describe('BMP decoding: broken pixel data', () => {
  test('uncompressed data cut short is a BmpDataError', async () => {
    const bytes = bmpVariantBytes('24-bit');
    await assert.rejects(decode(bytes.subarray(0, bytes.length - 10)), BmpDataError);
  });

  test('a pixel offset past the end of the file is a BmpDataError', async () => {
    const bytes = Buffer.from(bmpVariantBytes('8-bit'));
    bytes.writeUInt32LE(bytes.length + 100, 10);
    await assert.rejects(decode(bytes), BmpDataError);
  });

  for (const name of ['rle4', 'rle8']) {
    test(`${name}: data that breaks off before the last row is a BmpDataError, wherever it breaks`, async () => {
      const bytes = bmpVariantBytes(name);
      const { pixelOffset } = parseBmpHeader(bytes);
      for (let end = pixelOffset; end < bytes.length - 2; end += 3) {
        await assert.rejects(decode(bytes.subarray(0, end)), BmpDataError, `cut at ${end}`);
      }
    });
  }

  test('RLE: pixels the codes skip (delta, early end of bitmap) are white; indices past the palette are black', async () => {
    const width = 4;
    const height = 3;
    const header = encodeBmp({ width, height, bitsPerPixel: 8, compression: 'rle', pixel: () => [255, 0, 0, 255] });
    const { pixelOffset } = parseBmpHeader(header);
    // Bottom row: 2 red, then a delta 1 right 1 up; 1 pixel of index 9 (no such entry); end of bitmap.
    const codes = Buffer.from([2, 0, 0, 2, 1, 1, 1, 9, 0, 1]);
    const bytes = Buffer.concat([header.subarray(0, pixelOffset), codes]);
    const image = await decode(bytes);
    const white = [255, 255, 255];
    const red = [255, 0, 0];
    const rows = [...Array(height).keys()].map((y) => [...Array(width).keys()].map((x) => pixelAt(image, x, y)));
    assert.deepEqual(rows[2], [red, red, white, white]);
    assert.deepEqual(rows[1], [white, white, white, [0, 0, 0]]);
    assert.deepEqual(rows[0], [white, white, white, white]);
  });
  test('RLE: a run past the end of its row is cut there, not wrapped onto the next row', async () => {
    const header = encodeBmp({ width: 4, height: 2, bitsPerPixel: 8, compression: 'rle', pixel: () => [255, 0, 0, 255] });
    const { pixelOffset } = parseBmpHeader(header);
    const bytes = Buffer.concat([header.subarray(0, pixelOffset), Buffer.from([255, 0, 255, 0, 0, 1])]);
    const image = await decode(bytes);
    assert.deepEqual(
      [0, 1, 2, 3].map((x) => pixelAt(image, x, 1)),
      Array(4).fill([255, 0, 0]),
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((x) => pixelAt(image, x, 0)),
      Array(4).fill([255, 255, 255]),
    );
  });
});

describe('derivativeSourceWindow', () => {
  test('keeps the centre square plus a margin, shrunk as libvips would before resampling', () => {
    assert.deepEqual(derivativeSourceWindow(6666, 5000), { left: 799, top: 0, width: 5068, height: 5000, shrink: 4 });
    assert.deepEqual(derivativeSourceWindow(41, 30), { left: 4, top: 0, width: 32, height: 30, shrink: 1 });
    assert.deepEqual(derivativeSourceWindow(1000, 50_000), { left: 0, top: 24_493, width: 1000, height: 1014, shrink: 1 });
  });

  test('the derivative of the window equals the derivative of the whole image', async () => {
    // Noise-free but busy (every pixel differs), non-square, with a shrink factor of 2.
    const width = 3600;
    const height = 2500;
    const rgb = Buffer.alloc(width * height * 3);
    for (let y = 0, i = 0; y < height; y++) {
      for (let x = 0; x < width; x++, i += 3) {
        rgb[i] = (x * 255) / width;
        rgb[i + 1] = (y * 255) / height;
        rgb[i + 2] = ((x ^ y) & 64) === 0 ? 40 : 220;
      }
    }
    const header = encodeBmp({ width: 1, height: 1, bitsPerPixel: 24, pixel: () => [0, 0, 0, 255] }).subarray(0, 54);
    header.writeInt32LE(width, 18);
    header.writeInt32LE(-height, 22); // top-down: the raw rows as they are, BGR
    const stride = width * 3;
    const pixels = Buffer.alloc(stride * height);
    for (let i = 0; i < width * height * 3; i += 3) pixels.set([rgb[i + 2]!, rgb[i + 1]!, rgb[i]!], i);
    const bytes = Buffer.concat([header, pixels]);
    const window = derivativeSourceWindow(width, height);
    assert.equal(window.shrink, 2);
    // Bounded memory: the file is read a chunk at a time, and only the shrunk window is kept.
    const reads: number[] = [];
    const shrunk = await decodeBmpWindow(
      async (target, position) => {
        reads.push(target.length);
        return readerOf(bytes)(target, position);
      },
      parseBmpHeader(bytes),
      bytes.length,
      window,
    );
    assert.ok(Math.max(...reads) <= 2 ** 20, `largest read ${Math.max(...reads)} bytes`);
    assert.equal(shrunk.pixels.length, Math.ceil(window.width / 2) * Math.ceil(window.height / 2) * 3);
    const ours = await sharp(await toDerivative(sharp(shrunk.pixels, { raw: { width: shrunk.width, height: shrunk.height, channels: 3 } })))
      .raw()
      .toBuffer();
    const whole = await sharp(await toDerivative(sharp(rgb, { raw: { width, height, channels: 3 } })))
      .raw()
      .toBuffer();
    let total = 0;
    for (let i = 0; i < ours.length; i++) total += Math.abs(ours[i]! - whole[i]!);
    const mean = total / ours.length;
    assert.ok(mean < 2, `mean difference ${mean.toFixed(2)} levels`);
  });
});
