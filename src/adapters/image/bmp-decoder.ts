/**
 * BMP pixels via bmpimagejs (a pure-JS port of NetSurf's libnsbmp, the most complete decoder on
 * npm), plus fixes for the cases it gets wrong. Pure and synchronous: run it in a worker thread.
 */
import { decode } from 'bmpimagejs';
import type { BmpHeader } from './bmp-header.js';

/** Decoded pixels, interleaved, rows top to bottom. */
export interface RawImage {
  width: number;
  height: number;
  /** 3 (RGB) unless some pixel is actually translucent, then 4 (RGBA). */
  channels: 3 | 4;
  /** width × height × channels bytes; a view over a buffer of its own, safe to transfer. */
  pixels: Uint8Array;
}

/** A BMP whose pixel data cannot be decoded. */
export class BmpDataError extends Error {}

/**
 * How many bytes of the file `decodeBmp` needs (`readLength`, from offset 0) and how large the
 * buffer holding them must be (`bufferLength`; the rest stays zero).
 */
export function bmpBufferLayout(header: BmpHeader, fileSize: number): { readLength: number; bufferLength: number } {
  const rle = header.compression === 'rle4' || header.compression === 'rle8';
  // Only the pixel array: bmpimagejs places 32-bit bottom-up rows counting back from the end of its
  // input, so anything after the pixels (a V5 header's ICC profile) would shift every row.
  const readLength = rle ? fileSize : header.pixelOffset + header.pixelBytes;
  let bufferLength = readLength;
  // Its 16-bit bounds check is off by one: unpadded rows need a spare byte after the last one.
  if (header.bitsPerPixel === 16) bufferLength += 4;
  // It checks for a palette of 4-byte entries even where OS/2 1.x stores 3-byte ones.
  if (header.dibHeaderSize === 12 && header.bitsPerPixel <= 8) {
    bufferLength = Math.max(bufferLength, 14 + 12 + 4 * (1 << header.bitsPerPixel));
  }
  return { readLength, bufferLength };
}

/**
 * Decodes a BMP held in `file` (laid out per `bmpBufferLayout`). Throws BmpDataError for pixel data
 * that does not decode. Alpha follows the browsers: the fourth byte of 32-bit pixels is alpha, and
 * an alpha channel that is zero everywhere means "no alpha" (Windows ignores it), so it is opaque.
 */
export function decodeBmp(file: ArrayBuffer, header: BmpHeader, beforeRetry: () => void = () => {}): RawImage {
  const { rgba, firstRow } = decodeRgba(file, header, beforeRetry);
  const { width, height } = header;
  const pixelCount = width * height;
  const start = firstRow * width * 4;
  if (header.bitsPerPixel === 32 && header.compression === 'rgb') copyAlphaBytes(new Uint8Array(file), header, rgba, start);
  if (header.channelMasks) widenShortChannels(rgba, start, pixelCount, header.channelMasks);
  let minAlpha = 255;
  let maxAlpha = 0;
  for (let i = start + 3; i < start + pixelCount * 4; i += 4) {
    const alpha = rgba[i]!;
    if (alpha < minAlpha) minAlpha = alpha;
    if (alpha > maxAlpha) maxAlpha = alpha;
  }
  const pixels = new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  if (maxAlpha === 0 || minAlpha === 255) {
    // Compact to RGB in place (each write lands at or before its read): 25 % less to hand to sharp.
    for (let i = 0, o = 0, s = start; i < pixelCount; i++, o += 3, s += 4) {
      pixels[o] = pixels[s]!;
      pixels[o + 1] = pixels[s + 1]!;
      pixels[o + 2] = pixels[s + 2]!;
    }
    return { width, height, channels: 3, pixels: pixels.subarray(0, pixelCount * 3) };
  }
  if (start > 0) pixels.copyWithin(0, start, start + pixelCount * 4);
  return { width, height, channels: 4, pixels: pixels.subarray(0, pixelCount * 4) };
}

/**
 * RGBA rows top to bottom, starting at row `firstRow` of `rgba`. `beforeRetry` runs between a failed
 * RLE attempt and the second one: the worker frees the first attempt's frame there, so the retry
 * does not hold two.
 */
function decodeRgba(file: ArrayBuffer, header: BmpHeader, beforeRetry: () => void): { rgba: Uint8ClampedArray; firstRow: number } {
  if (Math.max(header.width, header.height) > 0xffff) {
    throw new BmpDataError('BMPs wider or taller than 65535 pixels are not supported');
  }
  try {
    return { rgba: decode(file).pixels, firstRow: 0 };
  } catch (error) {
    if (header.compression !== 'rle4' && header.compression !== 'rle8') throw dataError(error);
  }
  // libnsbmp (and so bmpimagejs) rejects an end-of-line code after the last row, which ImageMagick
  // writes before end-of-bitmap. Decode once more with one spare row, then skip that row.
  beforeRetry();
  const view = new DataView(file);
  view.setInt32(22, header.topDown ? -(header.height + 1) : header.height + 1, true);
  try {
    return { rgba: decode(file).pixels, firstRow: header.topDown ? 0 : 1 };
  } catch (error) {
    throw dataError(error);
  } finally {
    view.setInt32(22, header.topDown ? -header.height : header.height, true);
  }
}

/** bmpimagejs forces 32-bit BI_RGB pixels opaque; browsers read their fourth byte as alpha. */
function copyAlphaBytes(file: Uint8Array, header: BmpHeader, rgba: Uint8ClampedArray, start: number): void {
  const { width, height } = header;
  for (let y = 0; y < height; y++) {
    const storedRow = header.topDown ? y : height - 1 - y;
    let source = header.pixelOffset + storedRow * header.stride + 3;
    let target = start + y * width * 4 + 3;
    for (let x = 0; x < width; x++, source += 4, target += 4) rgba[target] = file[source]!;
  }
}

/**
 * libnsbmp shifts channels narrower than 8 bits into place without filling the low bits, so a
 * full-intensity 5-bit red comes out 248. Rescale them to the full 0–255 range, as browsers do.
 */
function widenShortChannels(rgba: Uint8ClampedArray, start: number, pixelCount: number, masks: NonNullable<BmpHeader['channelMasks']>): void {
  [masks.red, masks.green, masks.blue, masks.alpha].forEach((mask, channel) => {
    const bits = bitCount(mask);
    if (bits === 0 || bits >= 8) return;
    const table = new Uint8Array(256);
    for (let value = 0; value < 256; value++) table[value] = Math.round(((value >> (8 - bits)) * 255) / ((1 << bits) - 1));
    const end = start + pixelCount * 4;
    for (let i = start + channel; i < end; i += 4) rgba[i] = table[rgba[i]!]!;
  });
}

function bitCount(mask: number): number {
  let bits = 0;
  for (let m = mask >>> 0; m !== 0; m >>>= 1) bits += m & 1;
  return bits;
}

function dataError(error: unknown): BmpDataError {
  const message = error instanceof Error ? error.message : String(error);
  return new BmpDataError(`undecodable BMP pixel data (${message})`);
}
