import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bmpHeight, bmpVariantBytes, bmpVariants, bmpWidth, quadrants, white } from '../../../test/support/fixtures.js';
import { bmpBufferLayout, decodeBmp } from './bmp-decoder.js';
import { parseBmpHeader } from './bmp-header.js';

/** Decodes `bytes` the way the worker does: only the bytes the layout asks for, in a fresh buffer. */
function decodeBytes(bytes: Buffer) {
  const header = parseBmpHeader(bytes);
  const { readLength, bufferLength } = bmpBufferLayout(header, bytes.length);
  const file = new ArrayBuffer(bufferLength);
  new Uint8Array(file).set(bytes.subarray(0, readLength));
  return decodeBmp(file, header);
}

describe('BMP decoding: every pixel of every variant', () => {
  for (const [name, variant] of Object.entries(bmpVariants)) {
    test(name, () => {
      const width = variant.width ?? bmpWidth;
      const image = decodeBytes(bmpVariantBytes(name));
      assert.equal(image.width, width);
      assert.equal(image.height, bmpHeight);
      const pixel = variant.pixel ?? quadrants(width, bmpHeight);
      const translucent = Object.values(variant.expected).includes(white);
      // No real alpha: three channels, and a 32-bit file whose alpha bytes are all zero is opaque.
      assert.equal(image.channels, translucent ? 4 : 3);
      assert.equal(image.pixels.length, width * bmpHeight * image.channels);
      for (let y = 0; y < bmpHeight; y++) {
        for (let x = 0; x < width; x++) {
          const [r, g, b, a] = pixel(x, y);
          const at = (y * width + x) * image.channels;
          const got = [...image.pixels.subarray(at, at + image.channels)];
          const want = translucent ? [r, g, b, a] : [r, g, b];
          if (translucent && a === 0) assert.equal(got[3], 0, `alpha at ${x},${y}`);
          else assert.deepEqual(got, want, `pixel at ${x},${y}`);
        }
      }
    });
  }
});
