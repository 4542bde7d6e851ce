/**
 * A streaming BMP decoder of our own: it reads the staged file in bounded chunks and never holds
 * the file or a full-size frame. Rows are cropped and box-shrunk to a `SourceWindow` as they are
 * read, so memory stays at a chunk plus the (small) window, whatever the file's size. No npm
 * decoder streams: they all take the whole file as one buffer and return a full RGBA frame.
 *
 * Covers what the header parser accepts: OS/2 core and Win32 info/V2–V5 headers; 1/4/8-bit
 * paletted, RLE4, RLE8, 16-bit (555 or bit fields), 24-bit, 32-bit (BI_RGB or bit fields);
 * bottom-up and top-down rows.
 */
import type { BmpHeader } from './bmp-header.js';
import type { SourceWindow } from './derivative-recipe.js';

/** Fills `target` from byte `position` of the file; resolves to the bytes read (fewer only at its end). */
export type ByteReader = (target: Uint8Array, position: number) => Promise<number>;

/** The decoded window: RGB rows top to bottom, alpha already flattened on white. */
export interface ShrunkImage {
  width: number;
  height: number;
  /** width × height × 3 bytes. */
  pixels: Uint8Array;
}

/** A BMP whose pixel data cannot be decoded (truncated, or RLE codes that break off). */
export class BmpDataError extends Error {}

/** Bytes read from the file at once: large enough for few reads, small against the 64 MB budget. */
const chunkBytes = 1 << 20;
/** Palette index of a pixel an RLE bitmap leaves undefined (browsers show it transparent: white here). */
const undefinedIndex = 256;

/**
 * Decodes the part of a BMP that `window` names, shrunk by its factor. Alpha follows the browsers:
 * the fourth byte of 32-bit pixels is alpha, and an alpha channel that is zero everywhere means "no
 * alpha" (Windows ignores it), so it is opaque. Translucent pixels are flattened on white, which is
 * what the derivative recipe does after resizing and comes to the same (both are linear).
 * The caller has parsed the header and checked it against the limits and the file's size.
 */
export async function decodeBmpWindow(read: ByteReader, header: BmpHeader, fileSize: number, window: SourceWindow): Promise<ShrunkImage> {
  const palette = header.bitsPerPixel <= 8 ? await readPalette(read, header) : null;
  const shrinker = new BoxShrinker(window);
  if (header.compression === 'rle4' || header.compression === 'rle8') {
    await decodeRle(read, header, fileSize, palette!, shrinker);
  } else {
    const useAlpha = header.channelMasks !== null && header.channelMasks.alpha !== 0 && (await anyAlpha(read, header));
    await decodeUncompressed(read, header, palette, useAlpha, shrinker);
  }
  return shrinker.finish();
}

/**
 * The palette as RGB triples, 257 entries: indices past the declared palette are black, and
 * entry 256 is white (pixels an RLE bitmap skips).
 */
async function readPalette(read: ByteReader, header: BmpHeader): Promise<Uint8Array> {
  const entrySize = header.dibHeaderSize === 12 ? 3 : 4;
  const most = 1 << header.bitsPerPixel;
  const declared = header.colorsUsed > 0 && header.colorsUsed < most ? header.colorsUsed : most;
  // The palette ends where the pixels start: an entry that would overlap them is not there.
  const entries = Math.min(declared, Math.floor((header.pixelOffset - header.paletteOffset) / entrySize));
  const bytes = new Uint8Array(entries * entrySize);
  const got = await readFully(read, bytes, header.paletteOffset);
  const palette = new Uint8Array(257 * 3);
  for (let i = 0; i < Math.floor(got / entrySize); i++) {
    palette[i * 3] = bytes[i * entrySize + 2]!;
    palette[i * 3 + 1] = bytes[i * entrySize + 1]!;
    palette[i * 3 + 2] = bytes[i * entrySize]!;
  }
  palette.fill(255, 256 * 3);
  return palette;
}

/** Whether any pixel's alpha bits are non-zero; reads until the first one that is. */
async function anyAlpha(read: ByteReader, header: BmpHeader): Promise<boolean> {
  const { width, height, stride, bitsPerPixel } = header;
  const alphaMask = header.channelMasks!.alpha >>> 0;
  const rowsPerChunk = Math.max(1, Math.floor(chunkBytes / stride));
  const chunk = new Uint8Array(stride * rowsPerChunk);
  const view = new DataView(chunk.buffer);
  for (let row = 0; row < height; row += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, height - row);
    await readExactly(read, chunk.subarray(0, rows * stride), header.pixelOffset + row * stride);
    for (let r = 0; r < rows; r++) {
      for (let x = 0, at = r * stride; x < width; x++, at += bitsPerPixel >> 3) {
        const word = bitsPerPixel === 32 ? view.getUint32(at, true) : view.getUint16(at, true);
        if ((word & alphaMask) !== 0) return true;
      }
    }
  }
  return false;
}

/** Reads the window's rows in file order, a chunk of rows at a time (or only the window's bytes of very wide rows). */
async function decodeUncompressed(read: ByteReader, header: BmpHeader, palette: Uint8Array | null, useAlpha: boolean, shrinker: BoxShrinker): Promise<void> {
  const { height, stride, topDown, bitsPerPixel } = header;
  const { left, top, width } = shrinker.window;
  const decodeRow = rowDecoder(header, palette, useAlpha);
  const rgb = new Uint8Array(width * 3);
  // Stored rows that hold the window, in file order.
  const firstStored = topDown ? top : height - top - shrinker.window.height;
  const endStored = firstStored + shrinker.window.height;
  const rowOfStored = (stored: number) => (topDown ? stored : height - 1 - stored);
  if (stride <= chunkBytes) {
    const rowsPerChunk = Math.floor(chunkBytes / stride);
    const chunk = new Uint8Array(stride * rowsPerChunk);
    for (let stored = firstStored; stored < endStored; stored += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, endStored - stored);
      await readExactly(read, chunk.subarray(0, rows * stride), header.pixelOffset + stored * stride);
      for (let r = 0; r < rows; r++) {
        decodeRow(chunk, r * stride, left, width, rgb);
        shrinker.addRow(rowOfStored(stored + r), rgb);
      }
    }
    return;
  }
  // A row longer than a chunk (a very wide image): read only the bytes of the window's columns.
  const spanStart = Math.floor((left * bitsPerPixel) / 8);
  const spanEnd = Math.ceil(((left + width) * bitsPerPixel) / 8);
  const span = new Uint8Array(spanEnd - spanStart);
  for (let stored = firstStored; stored < endStored; stored++) {
    await readExactly(read, span, header.pixelOffset + stored * stride + spanStart);
    decodeRow(span, -spanStart, left, width, rgb);
    shrinker.addRow(rowOfStored(stored), rgb);
  }
}

/**
 * Writes `count` pixels from column `first` of the row whose byte 0 is at `rowStart` in `source`
 * (negative when `source` holds only part of the row) as RGB into `out`.
 */
type RowDecoder = (source: Uint8Array, rowStart: number, first: number, count: number, out: Uint8Array) => void;

function rowDecoder(header: BmpHeader, palette: Uint8Array | null, useAlpha: boolean): RowDecoder {
  const bits = header.bitsPerPixel;
  if (bits <= 8) {
    const table = palette!;
    const perByte = 8 / bits;
    const mask = (1 << bits) - 1;
    return (source, rowStart, first, count, out) => {
      for (let i = 0, x = first, o = 0; i < count; i++, x++, o += 3) {
        const byte = source[rowStart + Math.floor(x / perByte)]!;
        const index = ((byte >> (8 - bits - (x % perByte) * bits)) & mask) * 3;
        out[o] = table[index]!;
        out[o + 1] = table[index + 1]!;
        out[o + 2] = table[index + 2]!;
      }
    };
  }
  if (bits === 24) {
    return (source, rowStart, first, count, out) => {
      for (let i = 0, s = rowStart + first * 3, o = 0; i < count; i++, s += 3, o += 3) {
        out[o] = source[s + 2]!;
        out[o + 1] = source[s + 1]!;
        out[o + 2] = source[s]!;
      }
    };
  }
  const masks = header.channelMasks!;
  const red = channelReader(masks.red);
  const green = channelReader(masks.green);
  const blue = channelReader(masks.blue);
  const alpha = useAlpha ? channelReader(masks.alpha) : null;
  const bytes = bits / 8;
  return (source, rowStart, first, count, out) => {
    for (let i = 0, s = rowStart + first * bytes, o = 0; i < count; i++, s += bytes, o += 3) {
      // Little-endian words; `>>> 0` keeps a set top bit from making the number negative.
      const word =
        bytes === 2 ? source[s]! | (source[s + 1]! << 8) : (source[s]! | (source[s + 1]! << 8) | (source[s + 2]! << 16) | (source[s + 3]! << 24)) >>> 0;
      const r = red(word);
      const g = green(word);
      const b = blue(word);
      if (alpha === null) {
        out[o] = r;
        out[o + 1] = g;
        out[o + 2] = b;
      } else {
        const a = alpha(word);
        out[o] = flatten(r, a);
        out[o + 1] = flatten(g, a);
        out[o + 2] = flatten(b, a);
      }
    }
  };
}

/** A colour channel over white, as the derivative's flatten does. */
function flatten(value: number, alpha: number): number {
  return Math.round((value * alpha + 255 * (255 - alpha)) / 255);
}

/** Reads the channel under `mask` from a pixel word, scaled to 0–255 (a 5-bit 31 is 255, as browsers show it). */
function channelReader(mask: number): (word: number) => number {
  const m = mask >>> 0;
  if (m === 0) return () => 0;
  const shift = 31 - Math.clz32(m & -m);
  const bits = 32 - Math.clz32(m >>> shift);
  const max = 2 ** bits - 1;
  if (bits <= 16) {
    const table = new Uint8Array(max + 1);
    for (let value = 0; value <= max; value++) table[value] = Math.round((value * 255) / max);
    return (word) => table[((word & m) >>> 0) / 2 ** shift]!;
  }
  return (word) => Math.round(((((word & m) >>> 0) / 2 ** shift) * 255) / max);
}

/**
 * RLE8/RLE4 ("Bitmap Compression" in the Win32 docs), read forward a chunk at a time. Rows come out
 * in storage order, every one of them: those the codes skip (delta, early end of bitmap) are
 * undefined pixels. An end-of-line after the last row (ImageMagick writes one) is accepted; data
 * that breaks off before every row is given is not.
 */
async function decodeRle(read: ByteReader, header: BmpHeader, fileSize: number, palette: Uint8Array, shrinker: BoxShrinker): Promise<void> {
  const { width, height, topDown } = header;
  const rle4 = header.compression === 'rle4';
  const { left, width: windowWidth } = shrinker.window;
  const end = header.pixelBytes > 0 ? Math.min(fileSize, header.pixelOffset + header.pixelBytes) : fileSize;
  const input = new ChunkedInput(read, header.pixelOffset, end);
  const indices = new Uint16Array(width).fill(undefinedIndex);
  const rgb = new Uint8Array(windowWidth * 3);
  // Rows no code wrote to (a whole RLE bomb's worth): one white row, no palette look-ups.
  const blank = new Uint8Array(windowWidth * 3).fill(255);
  let touched = false;
  let stored = 0;
  let x = 0;
  const emitRow = () => {
    if (stored >= height) return;
    const y = topDown ? stored : height - 1 - stored;
    if (shrinker.wants(y) && touched) {
      for (let i = 0, o = 0; i < windowWidth; i++, o += 3) {
        const index = indices[left + i]! * 3;
        rgb[o] = palette[index]!;
        rgb[o + 1] = palette[index + 1]!;
        rgb[o + 2] = palette[index + 2]!;
      }
      shrinker.addRow(y, rgb);
    } else if (shrinker.wants(y)) {
      shrinker.addRow(y, blank);
    }
    stored++;
    if (touched) indices.fill(undefinedIndex);
    touched = false;
  };
  const put = (index: number) => {
    if (x < width) indices[x] = index;
    x++;
    touched = true;
  };
  for (;;) {
    // The longest code is an absolute run: 2 + 128 bytes (RLE8: 2 + 256), a 255-pixel one padded to even.
    const bytes = await input.ensure(260);
    if (stored >= height) return; // every row given: whatever follows (end of bitmap) is moot
    if (bytes < 2) throw new BmpDataError('the BMP RLE data ends before its last row');
    const count = input.byte();
    const value = input.byte();
    if (count > 0) {
      // Encoded run: `count` pixels of one index (RLE4: two alternating ones). Pixels past the row's
      // end are dropped without a loop: 2 bytes must not buy 255 iterations of nothing.
      const inRow = Math.max(0, Math.min(count, width - x));
      for (let i = 0; i < inRow; i++) indices[x + i] = rle4 ? (i % 2 === 0 ? value >> 4 : value & 15) : value;
      x += count;
      touched ||= inRow > 0;
      continue;
    }
    if (value === 0) {
      emitRow();
      x = 0;
    } else if (value === 1) {
      while (stored < height) emitRow();
      return;
    } else if (value === 2) {
      if (bytes < 4) throw new BmpDataError('the BMP RLE data ends inside a delta code');
      const right = input.byte();
      const up = input.byte();
      for (let i = 0; i < up && stored < height; i++) emitRow();
      x += right;
    } else {
      const runBytes = rle4 ? Math.ceil(value / 2) : value;
      const padded = runBytes + (runBytes % 2);
      if (bytes < 2 + padded) throw new BmpDataError('the BMP RLE data ends inside an absolute run');
      for (let i = 0; i < value; i++) {
        const byte = input.peek(rle4 ? i >> 1 : i);
        put(rle4 ? (i % 2 === 0 ? byte >> 4 : byte & 15) : byte);
      }
      input.skip(padded);
    }
  }
}

/** Forward reads of a byte range through one chunk-sized buffer. */
class ChunkedInput {
  private readonly buffer = new Uint8Array(chunkBytes);
  private start = 0;
  private end = 0;

  constructor(
    private readonly read: ByteReader,
    private position: number,
    private readonly limit: number,
  ) {}

  /** Makes at least `wanted` bytes available (fewer only at the end of the range); resolves to how many are. */
  async ensure(wanted: number): Promise<number> {
    if (this.end - this.start < wanted && this.position < this.limit) {
      this.buffer.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
      const room = Math.min(this.buffer.length - this.end, this.limit - this.position);
      const got = await readFully(this.read, this.buffer.subarray(this.end, this.end + room), this.position);
      this.position = got < room ? this.limit : this.position + got;
      this.end += got;
    }
    return this.end - this.start;
  }

  byte(): number {
    return this.buffer[this.start++]!;
  }

  peek(offset: number): number {
    return this.buffer[this.start + offset]!;
  }

  skip(count: number): void {
    this.start += count;
  }
}

/**
 * Crops rows to the window and averages `shrink`×`shrink` blocks, one output row at a time, so it
 * holds one row of sums. Rows may arrive top-down or bottom-up, but each exactly once.
 */
class BoxShrinker {
  readonly outWidth: number;
  readonly outHeight: number;
  private readonly output: Uint8Array;
  private readonly sums: Uint32Array;
  private group = -1;
  private rowsInGroup = 0;
  private rowsAdded = 0;

  constructor(readonly window: SourceWindow) {
    this.outWidth = Math.ceil(window.width / window.shrink);
    this.outHeight = Math.ceil(window.height / window.shrink);
    this.output = new Uint8Array(this.outWidth * this.outHeight * 3);
    this.sums = new Uint32Array(this.outWidth * 3);
  }

  /** Whether image row `y` lies in the window. */
  wants(y: number): boolean {
    return y >= this.window.top && y < this.window.top + this.window.height;
  }

  /** Adds image row `y`: `rgb` holds the window's columns of it. */
  addRow(y: number, rgb: Uint8Array): void {
    const group = Math.floor((y - this.window.top) / this.window.shrink);
    if (group !== this.group) {
      this.flush();
      this.group = group;
    }
    const { shrink, width } = this.window;
    const sums = this.sums;
    // Block by block, summing in locals: with the row decoder, this loop is the decode's time.
    for (let o = 0, i = 0, x = 0; x < width; o += 3) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const end = Math.min(x + shrink, width); x < end; x++, i += 3) {
        r += rgb[i]!;
        g += rgb[i + 1]!;
        b += rgb[i + 2]!;
      }
      sums[o] = sums[o]! + r;
      sums[o + 1] = sums[o + 1]! + g;
      sums[o + 2] = sums[o + 2]! + b;
    }
    this.rowsInGroup++;
    this.rowsAdded++;
  }

  /** The shrunk window; every one of its rows must have been added. */
  finish(): ShrunkImage {
    this.flush();
    if (this.rowsAdded !== this.window.height) throw new BmpDataError(`the BMP decoder got ${this.rowsAdded} of ${this.window.height} rows`);
    return { width: this.outWidth, height: this.outHeight, pixels: this.output };
  }

  private flush(): void {
    if (this.rowsInGroup === 0) return;
    const { shrink, width } = this.window;
    const target = this.group * this.outWidth * 3;
    for (let x = 0; x < this.outWidth; x++) {
      // The last block of a row may be narrower than `shrink`.
      const count = this.rowsInGroup * Math.min(shrink, width - x * shrink);
      for (let c = 0; c < 3; c++) this.output[target + x * 3 + c] = Math.round(this.sums[x * 3 + c]! / count);
    }
    this.sums.fill(0);
    this.rowsInGroup = 0;
  }
}

/** Reads until `target` is full or the file ends; resolves to the bytes read. */
async function readFully(read: ByteReader, target: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const got = await read(target.subarray(done), position + done);
    if (got === 0) break;
    done += got;
  }
  return done;
}

async function readExactly(read: ByteReader, target: Uint8Array, position: number): Promise<void> {
  if ((await readFully(read, target, position)) < target.length) throw new BmpDataError('the BMP pixel data is shorter than its header promises');
}
