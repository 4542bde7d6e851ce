import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { writeBmp24 } from './bmp-writer.js';

/**
 * A benchmark image on disk with a reserved `tagLength`-byte region at `tagOffset` whose content
 * `tag(n)` varies per upload: every upload is then new bytes (a new blob, so the derivative is
 * really rendered) without writing a new file per upload.
 */
export interface BenchImage {
  path: string;
  size: number;
  filename: string;
  contentType: string;
  tagOffset: number;
  tagLength: number;
  /** The bytes to put at `tagOffset` for upload number `n`: valid for the format. */
  tag(n: number): Buffer;
}

/** 12 MP, 4:3 — a phone photo. */
export const photoWidth = 4000;
export const photoHeight = 3000;
const tagText = 16;

/** Photo-like RGB pixels: smooth gradients and shapes plus sensor-like noise, so PNG stays photo-sized. */
export function photoPixels(width = photoWidth, height = photoHeight): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  let seed = 0x2545f491;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      const noise = ((seed >>> 24) % 13) - 6;
      const wave = 40 * Math.sin(x / 170) * Math.cos(y / 230);
      const i = (y * width + x) * 3;
      rgb[i] = clamp((255 * x) / width + wave + noise);
      rgb[i + 1] = clamp((255 * y) / height - wave + noise);
      rgb[i + 2] = clamp(128 + wave * 2 + noise);
    }
  }
  return rgb;
}

function clamp(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : value | 0;
}

function tagBytes(n: number): Buffer {
  return Buffer.from(n.toString(16).padStart(tagText, '0').slice(-tagText), 'ascii');
}

/** Inserts `segment` into `encoded` at `at`. */
function splice(encoded: Buffer, at: number, segment: Buffer): Buffer {
  return Buffer.concat([encoded.subarray(0, at), segment, encoded.subarray(at)]);
}

/** A JPEG COM segment right after SOI carries the tag. */
function jpegComment(n: number): Buffer {
  const header = Buffer.from([0xff, 0xfe, 0x00, 2 + tagText]);
  return Buffer.concat([header, tagBytes(n)]);
}

/** A PNG tEXt chunk (with its CRC) right after IHDR carries the tag. */
function pngTextChunk(n: number): Buffer {
  const data = Buffer.concat([Buffer.from('bench\0', 'latin1'), tagBytes(n)]);
  const type = Buffer.from('tEXt', 'ascii');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([type, data])));
  return Buffer.concat([length, type, data, crc]);
}

/** Creates, caches and finally removes the benchmark's input files in one temp directory. */
export class BenchFiles {
  private dir: Promise<string> | null = null;
  private pixels: Uint8Array | null = null;
  private readonly made = new Map<string, Promise<BenchImage>>();

  /** The 12 MP photo as a quality-90 JPEG. */
  jpeg12mp(): Promise<BenchImage> {
    return this.once('jpeg', async (dir) => {
      const encoded = await this.encode(photoWidth, photoHeight, (image) => image.jpeg({ quality: 90 }));
      return this.write(join(dir, 'photo-12mp.jpg'), splice(encoded, 2, jpegComment(0)), 'image/jpeg', 6, tagText, (n) => tagBytes(n));
    });
  }

  /** The 12 MP photo as a PNG (sharp's default compression). */
  png12mp(): Promise<BenchImage> {
    return this.png(photoWidth, photoHeight);
  }

  /** The 12 MP photo as an uncompressed 24-bit BMP. */
  bmp12mp(): Promise<BenchImage> {
    return this.bmp(photoWidth, photoHeight);
  }

  /** A photo-like PNG of any size (7200×5400 is about 100 MB); the tag is a tEXt chunk after IHDR. */
  png(width: number, height: number): Promise<BenchImage> {
    return this.once(`png-${width}x${height}`, async (dir) => {
      const encoded = await this.encode(width, height, (image) => image.png());
      return this.write(join(dir, `photo-${width}x${height}.png`), splice(encoded, 33, pngTextChunk(0)), 'image/png', 33, pngTextChunk(0).length, pngTextChunk);
    });
  }

  /** A photo-like 24-bit BMP of any size; the tag overwrites the first 16 bytes of pixel data. */
  bmp(width: number, height: number): Promise<BenchImage> {
    return this.once(`bmp-${width}x${height}`, async (dir) => {
      const path = join(dir, `photo-${width}x${height}.bmp`);
      const pixelOffset = await writeBmp24(path, width, height, this.photo(width, height));
      return this.describe(path, 'image/bmp', pixelOffset, tagText, tagBytes);
    });
  }

  /**
   * A valid small JPEG (1200×900) followed by random bytes up to `totalBytes`: decoders stop at
   * EOI, so ingesting it measures the streaming path (receive, hash, stage, fsync), not decoding.
   * The tag is the file's last 16 bytes.
   */
  paddedJpeg(totalBytes: number): Promise<BenchImage> {
    return this.once(`padded-${totalBytes}`, async (dir) => {
      const small = await this.encode(photoWidth, photoHeight, (image) => image.resize(1200, 900).jpeg({ quality: 90 }));
      const path = join(dir, `padded-${totalBytes}.jpg`);
      const file = await open(path, 'w');
      try {
        await file.write(small);
        for (let written = small.length; written < totalBytes; ) {
          const chunk = randomBytes(Math.min(4 << 20, totalBytes - written));
          await file.write(chunk);
          written += chunk.length;
        }
      } finally {
        await file.close();
      }
      return this.describe(path, 'image/jpeg', totalBytes - tagText, tagText, tagBytes);
    });
  }

  /** A scratch directory inside the benchmark's temp dir. */
  async scratch(name: string): Promise<string> {
    return join(await this.root(), name);
  }

  /** Removes every file this instance created. */
  async cleanup(): Promise<void> {
    if (this.dir) await rm(await this.dir, { recursive: true, force: true });
  }

  /** The 12 MP pixels are kept (several files use them); larger ones are made for one file and dropped. */
  private photo(width: number, height: number): Uint8Array {
    if (width !== photoWidth || height !== photoHeight) return photoPixels(width, height);
    this.pixels ??= photoPixels();
    return this.pixels;
  }

  private encode(width: number, height: number, format: (image: Sharp) => Sharp): Promise<Buffer> {
    return format(sharp(this.photo(width, height), { raw: { width, height, channels: 3 } })).toBuffer();
  }

  private root(): Promise<string> {
    this.dir ??= mkdtemp(join(tmpdir(), 'imagegram-bench-'));
    return this.dir;
  }

  private once(key: string, make: (dir: string) => Promise<BenchImage>): Promise<BenchImage> {
    let made = this.made.get(key);
    if (!made) {
      made = this.root().then(make);
      this.made.set(key, made);
    }
    return made;
  }

  private async write(path: string, bytes: Buffer, contentType: string, tagOffset: number, tagLength: number, tag: (n: number) => Buffer): Promise<BenchImage> {
    await writeFile(path, bytes);
    return this.describe(path, contentType, tagOffset, tagLength, tag);
  }

  private async describe(path: string, contentType: string, tagOffset: number, tagLength: number, tag: (n: number) => Buffer): Promise<BenchImage> {
    const { size } = await stat(path);
    const filename = path.slice(path.lastIndexOf('/') + 1);
    return { path, size, filename, contentType, tagOffset, tagLength, tag };
  }
}
