import { open } from 'node:fs/promises';

/**
 * Writes an uncompressed 24-bit BMP (BITMAPFILEHEADER + BITMAPINFOHEADER = 54 bytes, then
 * bottom-up rows padded to 4 bytes) from top-down RGB pixels. Returns the offset of the pixel data.
 * Rows are written one at a time so a 12 MP image never needs a second full-size buffer.
 */
export async function writeBmp24(path: string, width: number, height: number, rgb: Uint8Array): Promise<number> {
  const rowBytes = Math.ceil((width * 3) / 4) * 4;
  const pixelOffset = 54;
  const header = Buffer.alloc(pixelOffset);
  header.write('BM', 0, 'ascii');
  header.writeUInt32LE(pixelOffset + rowBytes * height, 2);
  header.writeUInt32LE(pixelOffset, 10);
  header.writeUInt32LE(40, 14); // BITMAPINFOHEADER
  header.writeInt32LE(width, 18);
  header.writeInt32LE(height, 22); // positive: bottom-up
  header.writeUInt16LE(1, 26); // planes
  header.writeUInt16LE(24, 28); // bits per pixel
  header.writeUInt32LE(0, 30); // BI_RGB
  header.writeUInt32LE(rowBytes * height, 34);
  header.writeInt32LE(2835, 38); // 72 dpi
  header.writeInt32LE(2835, 42);

  const file = await open(path, 'w');
  try {
    await file.write(header);
    // Batch rows into ~1 MB writes; BMP stores BGR, last row first.
    const rowsPerChunk = Math.max(1, Math.floor((1 << 20) / rowBytes));
    for (let y = height - 1; y >= 0; y -= rowsPerChunk) {
      const count = Math.min(rowsPerChunk, y + 1);
      const chunk = Buffer.alloc(rowBytes * count);
      for (let r = 0; r < count; r++) {
        const source = (y - r) * width * 3;
        const target = r * rowBytes;
        for (let x = 0; x < width; x++) {
          chunk[target + x * 3] = rgb[source + x * 3 + 2]!;
          chunk[target + x * 3 + 1] = rgb[source + x * 3 + 1]!;
          chunk[target + x * 3 + 2] = rgb[source + x * 3]!;
        }
      }
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
  return pixelOffset;
}
