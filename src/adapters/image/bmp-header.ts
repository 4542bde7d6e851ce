import { open } from 'node:fs/promises';
import { AppError } from '../../core/errors.js';

export type BmpCompression = 'rgb' | 'rle8' | 'rle4' | 'bitfields';

/** What a BMP's file header and DIB header say (Win32 BITMAPINFOHEADER family, OS/2 1.x core header). */
export interface BmpHeader {
  width: number;
  /** Rows, always positive; `topDown` gives the storage order. */
  height: number;
  /** Negative height in the header: the first stored row is the top one. */
  topDown: boolean;
  bitsPerPixel: 1 | 4 | 8 | 16 | 24 | 32;
  compression: BmpCompression;
  /** 12 (OS/2 core), 40 (info), 52/56 (V2/V3), 64 (OS/2 2.x), 108 (V4) or 124 (V5). */
  dibHeaderSize: number;
  /** Where the pixel array starts, from the start of the file. */
  pixelOffset: number;
  /** Bytes of pixel data the header promises: whole padded rows, or biSizeImage for RLE (0: unknown). */
  pixelBytes: number;
  /** Bytes of one stored row of an uncompressed bitmap, padded to 4. */
  stride: number;
  /** Palette entries the header declares (biClrUsed; 0: as many as the depth allows). */
  colorsUsed: number;
  /** Where the palette starts, from the start of the file (it ends at `pixelOffset` at the latest). */
  paletteOffset: number;
  /** Where each channel sits in a 16- or 32-bit pixel (alpha 0: none); null for other depths. */
  channelMasks: { red: number; green: number; blue: number; alpha: number } | null;
}

/** Bytes that hold the longest header (file header + BITMAPV5HEADER). */
export const bmpHeaderLength = 14 + 124;

const dibHeaderSizes = new Set([12, 40, 52, 56, 64, 108, 124]);
const compressionIds: Readonly<Record<number, BmpCompression>> = { 0: 'rgb', 1: 'rle8', 2: 'rle4', 3: 'bitfields' };
const depthsByCompression: Readonly<Record<BmpCompression, readonly number[]>> = {
  rgb: [1, 4, 8, 16, 24, 32],
  rle8: [8],
  rle4: [4],
  bitfields: [16, 32],
};

/**
 * Parses the headers at the start of a BMP file, reading nothing but these bytes.
 * Throws UNSUPPORTED_FORMAT for real but unsupported kinds (embedded JPEG/PNG, CMYK, unknown header
 * versions) and CORRUPT_IMAGE for headers that contradict themselves.
 */
export function parseBmpHeader(bytes: Buffer): BmpHeader {
  if (bytes.toString('latin1', 0, 2) !== 'BM') throw corrupt('this is not a BMP header');
  if (bytes.length < 18) throw corrupt('the BMP header is truncated');
  const dibHeaderSize = bytes.readUInt32LE(14);
  if (!dibHeaderSizes.has(dibHeaderSize)) {
    throw new AppError('UNSUPPORTED_FORMAT', `BMP header of ${dibHeaderSize} bytes is not a known version`);
  }
  if (bytes.length < 14 + dibHeaderSize) throw corrupt('the BMP header is truncated');
  const core = dibHeaderSize === 12;
  // OS/2 1.x sizes are unsigned 16-bit and always bottom-up.
  const width = core ? bytes.readUInt16LE(18) : bytes.readInt32LE(18);
  const signedHeight = core ? bytes.readUInt16LE(20) : bytes.readInt32LE(22);
  const planes = bytes.readUInt16LE(core ? 22 : 26);
  const bitsPerPixel = bytes.readUInt16LE(core ? 24 : 28);
  const compressionId = core ? 0 : bytes.readUInt32LE(30);
  const compression = compressionIds[compressionId];
  if (!compression) {
    throw new AppError('UNSUPPORTED_FORMAT', `BMP compression ${compressionId} (embedded JPEG/PNG, CMYK or alpha bit fields) is not supported`);
  }
  if (width <= 0 || signedHeight === 0) throw corrupt(`the BMP header gives a size of ${width}×${signedHeight}`);
  if (planes !== 1) throw corrupt(`the BMP header gives ${planes} planes`);
  if (!depthsByCompression[compression].includes(bitsPerPixel)) {
    throw corrupt(`the BMP header gives ${bitsPerPixel} bits per pixel with ${compression} compression`);
  }
  // A 40-byte header keeps its three BI_BITFIELDS masks after it; later versions inside.
  const masksAfterHeader = dibHeaderSize === 40 && compression === 'bitfields' ? 12 : 0;
  const pixelOffset = bytes.readUInt32LE(10);
  if (pixelOffset < 14 + dibHeaderSize + masksAfterHeader) throw corrupt('the BMP pixel data overlaps its header');
  if (bytes.length < 14 + dibHeaderSize + masksAfterHeader) throw corrupt('the BMP header is truncated');
  const height = Math.abs(signedHeight);
  const stride = Math.ceil((width * bitsPerPixel) / 32) * 4;
  const rle = compression === 'rle4' || compression === 'rle8';
  return {
    width,
    height,
    topDown: signedHeight < 0,
    bitsPerPixel: bitsPerPixel as BmpHeader['bitsPerPixel'],
    compression,
    dibHeaderSize,
    pixelOffset,
    pixelBytes: rle ? bytes.readUInt32LE(34) : stride * height,
    stride,
    colorsUsed: core ? 0 : bytes.readUInt32LE(46),
    paletteOffset: 14 + dibHeaderSize + masksAfterHeader,
    channelMasks: readChannelMasks(bytes, compression, bitsPerPixel, dibHeaderSize),
  };
}

function readChannelMasks(bytes: Buffer, compression: BmpCompression, bitsPerPixel: number, dibHeaderSize: number): BmpHeader['channelMasks'] {
  if (compression === 'bitfields') {
    const alpha = dibHeaderSize >= 56 ? bytes.readUInt32LE(66) : 0;
    return { red: bytes.readUInt32LE(54), green: bytes.readUInt32LE(58), blue: bytes.readUInt32LE(62), alpha };
  }
  if (bitsPerPixel === 16) return { red: 0x7c00, green: 0x03e0, blue: 0x001f, alpha: 0 }; // 5-5-5
  if (bitsPerPixel === 32) return { red: 0xff0000, green: 0xff00, blue: 0xff, alpha: 0xff000000 };
  return null;
}

/** Reads and parses the headers of the BMP at `path`, and the file's size. */
export async function readBmpHeader(path: string): Promise<{ header: BmpHeader; fileSize: number }> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bmpHeaderLength);
    const { bytesRead } = await handle.read(buffer, 0, bmpHeaderLength, 0);
    const { size } = await handle.stat();
    return { header: parseBmpHeader(buffer.subarray(0, bytesRead)), fileSize: size };
  } finally {
    await handle.close();
  }
}

/** Throws CORRUPT_IMAGE when the file is shorter than the pixel data its header promises. */
export function assertPixelDataPresent(header: BmpHeader, fileSize: number): void {
  if (fileSize <= header.pixelOffset || fileSize < header.pixelOffset + header.pixelBytes) {
    throw corrupt('the BMP pixel data is shorter than its header promises');
  }
}

function corrupt(detail: string): AppError {
  return new AppError('CORRUPT_IMAGE', detail);
}
