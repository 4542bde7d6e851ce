/**
 * Test images, generated at test time into a directory (nothing binary is committed): ordinary
 * PNG/JPEG/WebP/GIF/TIFF/AVIF, the awkward cases (EXIF-rotated, CMYK, transparent, truncated,
 * wrong magic bytes, decompression bombs) and a BMP of every standard variant with known colours.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import sharp from 'sharp';
import { encodeBmp, type BmpSpec, type Rgba } from '../fixtures/bmp-writer.js';

export type { Rgba } from '../fixtures/bmp-writer.js';

export const red: Rgba = [255, 0, 0, 255];
export const green: Rgba = [0, 255, 0, 255];
export const blue: Rgba = [0, 0, 255, 255];
export const yellow: Rgba = [255, 255, 0, 255];
export const white: Rgba = [255, 255, 255, 255];
const clear: Rgba = [0, 0, 0, 0];

/** Four colours, one per quadrant, so a flipped or mirrored decode shows up. */
export const quadrantColours = { topLeft: red, topRight: green, bottomLeft: blue, bottomRight: yellow };
/** The quadrant image of `width`×`height`; `alpha` replaces every pixel's alpha. */
export function quadrants(width: number, height: number, alpha?: number): (x: number, y: number) => Rgba {
  return (x, y) => {
    const c = y < height / 2 ? (x < width / 2 ? red : green) : x < width / 2 ? blue : yellow;
    return alpha === undefined ? c : [c[0], c[1], c[2], alpha];
  };
}

/** A BMP variant with the colour each quadrant of its derivative must have. */
export interface BmpVariant {
  spec: Omit<BmpSpec, 'width' | 'height' | 'pixel'>;
  /** Defaults to `bmpWidth`. */
  width?: number;
  /** Pixels of the image; defaults to `quadrants`. */
  pixel?: (x: number, y: number) => Rgba;
  expected: { topLeft: Rgba; topRight: Rgba; bottomLeft: Rgba; bottomRight: Rgba };
}

// An odd width makes every bit depth pad its rows (the bug magnet in BMP decoders).
export const bmpWidth = 41;
export const bmpHeight = 30;
const twoColours = (x: number, y: number): Rgba => (x < bmpWidth / 2 === y < bmpHeight / 2 ? red : blue);
const transparentTopLeft = (x: number, y: number): Rgba => (x < bmpWidth / 2 && y < bmpHeight / 2 ? clear : quadrants(bmpWidth, bmpHeight)(x, y));
const checker = { topLeft: red, topRight: blue, bottomLeft: blue, bottomRight: red };

/** Every standard BMP variant (Win32 BITMAPINFOHEADER family plus OS/2 1.x). */
export const bmpVariants: Record<string, BmpVariant> = {
  '1-bit': { spec: { bitsPerPixel: 1 }, pixel: twoColours, expected: checker },
  '4-bit': { spec: { bitsPerPixel: 4 }, expected: quadrantColours },
  '8-bit': { spec: { bitsPerPixel: 8 }, expected: quadrantColours },
  rle4: { spec: { bitsPerPixel: 4, compression: 'rle' }, expected: quadrantColours },
  rle8: { spec: { bitsPerPixel: 8, compression: 'rle' }, expected: quadrantColours },
  'rle4-eol-after-last-row': { spec: { bitsPerPixel: 4, compression: 'rle', rleEolAfterLastRow: true }, expected: quadrantColours },
  'rle8-eol-after-last-row': { spec: { bitsPerPixel: 8, compression: 'rle', rleEolAfterLastRow: true }, expected: quadrantColours },
  '16-bit-555': { spec: { bitsPerPixel: 16 }, expected: quadrantColours },
  '16-bit-565-bitfields': { spec: { bitsPerPixel: 16, compression: 'bitfields' }, expected: quadrantColours },
  // Rows without padding: a classic off-by-one in BMP decoders' bounds checks.
  '16-bit-565-even-width': { spec: { bitsPerPixel: 16, compression: 'bitfields' }, width: 40, expected: quadrantColours },
  '24-bit': { spec: { bitsPerPixel: 24 }, expected: quadrantColours },
  '24-bit-top-down': { spec: { bitsPerPixel: 24, topDown: true }, expected: quadrantColours },
  '32-bit-xrgb': { spec: { bitsPerPixel: 32 }, pixel: quadrants(bmpWidth, bmpHeight, 0), expected: quadrantColours },
  // BI_RGB whose fourth byte is alpha after all, as browsers read it.
  '32-bit-argb': { spec: { bitsPerPixel: 32 }, pixel: transparentTopLeft, expected: { ...quadrantColours, topLeft: white } },
  '32-bit-bitfields-rgbx': {
    spec: { bitsPerPixel: 32, compression: 'bitfields', masks: { r: 0xff, g: 0xff00, b: 0xff0000, a: 0 } },
    expected: quadrantColours,
  },
  '32-bit-v4-alpha': {
    spec: { bitsPerPixel: 32, compression: 'bitfields', header: 'v4' },
    pixel: transparentTopLeft,
    expected: { ...quadrantColours, topLeft: white },
  },
  // A V5 header's embedded ICC profile sits after the pixels.
  '32-bit-v5-trailing-profile': {
    spec: { bitsPerPixel: 32, compression: 'bitfields', header: 'v5', trailingBytes: 3000 },
    expected: quadrantColours,
  },
  '32-bit-v5-alpha-all-zero': {
    spec: { bitsPerPixel: 32, compression: 'bitfields', header: 'v5' },
    pixel: quadrants(bmpWidth, bmpHeight, 0),
    expected: quadrantColours,
  },
  'os2-8-bit': { spec: { bitsPerPixel: 8, header: 'core' }, expected: quadrantColours },
  'os2-24-bit': { spec: { bitsPerPixel: 24, header: 'core' }, expected: quadrantColours },
  // Smaller than a 256-entry palette of 4-byte entries, which some decoders wrongly expect.
  'os2-8-bit-small': { spec: { bitsPerPixel: 8, header: 'core' }, width: 6, expected: quadrantColours },
};

/** Bytes of the BMP variant `name` (41×30). */
export function bmpVariantBytes(name: string): Buffer {
  const variant = bmpVariants[name];
  if (!variant) throw new Error(`no BMP variant ${name}`);
  const width = variant.width ?? bmpWidth;
  return encodeBmp({ width, height: bmpHeight, pixel: variant.pixel ?? quadrants(width, bmpHeight), ...variant.spec });
}

/** A BMP whose header claims 30000×30000 24-bit pixels (2.7 GB of them) in a file of 54 bytes. */
export async function bombBmpBytes(): Promise<Buffer> {
  const header = encodeBmp({ width: 1, height: 1, bitsPerPixel: 24, pixel: () => red }).subarray(0, 54);
  header.writeInt32LE(30_000, 18);
  header.writeInt32LE(30_000, 22);
  return header;
}

/**
 * A complete, valid PNG of 20000×20000 black pixels (400 MP) in about 50 KB: 1-bit greyscale rows
 * of zeros. The deflate stream is one full-flushed block of rows repeated, so building it costs
 * nothing (each full flush resets the compressor's history, making the blocks independent).
 */
export async function bombPngBytes(side = 20_000): Promise<Buffer> {
  const rowBytes = 1 + Math.ceil(side / 8); // filter byte + 1 bit a pixel
  const rowsPerBlock = 1000;
  if (side % rowsPerBlock) throw new Error(`side must be a multiple of ${rowsPerBlock}`);
  const block = deflateRawSync(Buffer.alloc(rowBytes * rowsPerBlock), { finishFlush: constants.Z_FULL_FLUSH });
  const final = deflateRawSync(Buffer.alloc(0));
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((rowBytes * side) % 65521) * 65536 + 1) >>> 0); // Adler-32 of zeros: a = 1, b = n
  const zlib = Buffer.concat([Buffer.from([0x78, 0x01]), ...Array.from({ length: side / rowsPerBlock }, () => block), final, adler]);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([1, 0, 0, 0, 0], 8); // bit depth 1, greyscale, deflate, no filter, no interlace
  return Buffer.concat([pngSignature, pngChunk('IHDR', ihdr), pngChunk('IDAT', zlib), pngChunk('IEND', Buffer.alloc(0))]);
}

/** The eight bytes every PNG starts with. */
export const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk: length, type, data and the CRC over type and data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

/**
 * Writes a 24-bit BMP of `width`×`height` to `path` quickly (no per-pixel callbacks): left half
 * red, right half blue. For decoder load tests: 4000×3000 is 36 MB.
 */
export async function writeLargeBmp(path: string, width: number, height: number): Promise<void> {
  const header = encodeBmp({ width: 1, height: 1, bitsPerPixel: 24, pixel: () => red }).subarray(0, 54);
  const stride = Math.ceil((width * 3) / 4) * 4;
  header.writeUInt32LE(54 + stride * height, 2);
  header.writeInt32LE(width, 18);
  header.writeInt32LE(height, 22);
  header.writeUInt32LE(stride * height, 34);
  const row = Buffer.alloc(stride);
  for (let x = 0; x < width; x++) row.set(x < width / 2 ? [0, 0, 255] : [255, 0, 0], x * 3); // BGR
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) row.copy(pixels, y * stride);
  await writeFile(path, Buffer.concat([header, pixels]));
}

/** Pixels of a `width`×`height` RGB image: left half `left`, right half `right`. */
function halves(width: number, height: number, left: Rgba, right: Rgba): Buffer {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) raw.set((i % width < width / 2 ? left : right).slice(0, 3), i * 3);
  return raw;
}

/** Deterministic noise, so compressed files are big enough to cut in half meaningfully. */
function noise(width: number, height: number): Buffer {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
  return raw;
}

/** When the EXIF fixture was "taken", as the camera wrote it and as epoch ms read as UTC. */
export const exifTakenAt = { exif: '2021:06:15 13:45:30', epochMs: Date.UTC(2021, 5, 15, 13, 45, 30) };
/** EXIF for the PNG, WebP and AVIF fixtures: camera and taken-at only. */
export const cameraExif = { IFD0: { Make: 'Nikon', Model: 'Z 6' }, IFD2: { DateTimeOriginal: exifTakenAt.exif } };
/** Where it was taken: 48°51'24" S, 2°21'3" W. */
export const exifPosition = { latitude: -(48 + 51 / 60 + 24 / 3600), longitude: -(2 + 21 / 60 + 3 / 3600) };

/** Fixture files written by `makeFixtures`. */
export interface Fixtures {
  /** Path of the fixture `name` (e.g. `exif-rotated-jpeg`, `bmp-24-bit`); throws for unknown names. */
  path(name: string): string;
  /** Every fixture name. */
  names: string[];
}

/**
 * Writes every fixture into `dir`. BMP variants are named `bmp-<variant>` (see `bmpVariants`).
 * Takes well under a second.
 */
export async function makeFixtures(dir: string): Promise<Fixtures> {
  await mkdir(dir, { recursive: true });
  const raw = (width: number, height: number, pixels: Buffer) => sharp(pixels, { raw: { width, height, channels: 3 } });
  const quadrantPixels = Buffer.alloc(64 * 48 * 3);
  const quadrant = quadrants(64, 48);
  for (let i = 0; i < 64 * 48; i++) quadrantPixels.set(quadrant(i % 64, Math.floor(i / 64)).slice(0, 3), i * 3);
  const jpegNoise = await raw(300, 200, noise(300, 200)).jpeg({ quality: 90 }).toBuffer();
  const pngNoise = await raw(300, 200, noise(300, 200)).png().toBuffer();
  const plainJpeg = await raw(64, 48, quadrantPixels).jpeg().toBuffer();
  const sos = plainJpeg.indexOf(Buffer.from([0xff, 0xda]));
  const transparent = Buffer.alloc(64 * 48 * 4);
  for (let i = 0; i < 64 * 48; i++) transparent.set(i % 64 < 32 ? [0, 0, 0, 0] : [0, 0, 255, 255], i * 4);
  const twoFrames = Buffer.concat([halves(32, 24, red, red), halves(32, 24, blue, blue)]);

  const files: Record<string, Buffer | Promise<Buffer>> = {
    png: raw(64, 48, quadrantPixels).png().toBuffer(),
    jpeg: plainJpeg,
    webp: raw(64, 48, quadrantPixels).webp().toBuffer(),
    tiff: raw(64, 48, quadrantPixels).tiff().toBuffer(),
    avif: raw(64, 48, quadrantPixels).avif().toBuffer(),
    // Stored 80×40, left red and right blue; orientation 6 shows it 40×80, red on top.
    'exif-rotated-jpeg': raw(80, 40, halves(80, 40, red, blue))
      .withMetadata({ orientation: 6 })
      .withExifMerge({
        IFD0: { Make: 'Canon  ', Model: ' EOS 5D Mark IV' },
        IFD2: { DateTimeOriginal: exifTakenAt.exif },
        IFD3: { GPSLatitudeRef: 'S', GPSLatitude: '48/1 51/1 2400/100', GPSLongitudeRef: 'W', GPSLongitude: '2/1 21/1 300/100' },
      })
      .jpeg()
      .toBuffer(),
    ...Object.fromEntries(
      (['png', 'webp', 'avif'] as const).map((format) => [
        `exif-${format}`,
        raw(16, 16, halves(16, 16, red, red))
          .withExif(cameraExif)
          .toFormat(format)
          .toBuffer(),
      ]),
    ),
    'exif-create-date-jpeg': raw(16, 16, halves(16, 16, red, red))
      .withExif({ IFD2: { DateTimeDigitized: exifTakenAt.exif } })
      .jpeg()
      .toBuffer(),
    // Without a profile libvips falls back to a generic CMYK one; with one it must use it.
    'cmyk-jpeg': raw(64, 48, halves(64, 48, red, red))
      .toColourspace('cmyk')
      .jpeg()
      .toBuffer(),
    'cmyk-icc-jpeg': raw(64, 48, halves(64, 48, red, red))
      .withIccProfile('cmyk')
      .jpeg()
      .toBuffer(),
    'transparent-png': sharp(transparent, { raw: { width: 64, height: 48, channels: 4 } })
      .png()
      .toBuffer(),
    'two-frame-gif': sharp(twoFrames, { raw: { width: 32, height: 48, channels: 3, pageHeight: 24 } })
      .gif()
      .toBuffer(),
    'truncated-jpeg': jpegNoise.subarray(0, Math.floor(jpegNoise.length * 0.6)),
    'truncated-png': pngNoise.subarray(0, Math.floor(pngNoise.length * 0.6)),
    // libjpeg warns "2 extraneous bytes before marker 0xda"; every viewer shows the image anyway.
    'jpeg-stray-bytes': Buffer.concat([plainJpeg.subarray(0, sos), Buffer.from([0x12, 0x34]), plainJpeg.subarray(sos)]),
    'text-named-png': Buffer.from('this is not an image, just text in a file called .png\n'),
    'bomb-png': bombPngBytes(),
    'bomb-bmp': bombBmpBytes(),
    'truncated-bmp': bmpVariantBytes('24-bit').subarray(0, 54 + 44 * 15),
    ...Object.fromEntries(Object.keys(bmpVariants).map((name) => [`bmp-${name}`, bmpVariantBytes(name)])),
  };
  const extensions: Record<string, string> = { jpeg: 'jpg', tiff: 'tif', 'text-named-png': 'png' };
  const paths: Record<string, string> = {};
  await Promise.all(
    Object.entries(files).map(async ([name, bytes]) => {
      const extension = name.startsWith('bmp-') ? 'bmp' : (extensions[name] ?? name.split('-').pop()!);
      paths[name] = join(dir, `${name}.${extension}`);
      await writeFile(paths[name], await bytes);
    }),
  );
  return {
    names: Object.keys(paths),
    path(name) {
      const path = paths[name];
      if (!path) throw new Error(`no fixture named ${name}`);
      return path;
    },
  };
}
