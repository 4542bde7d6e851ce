import type { ImageFormat } from '../../core/images/image.js';
import { derivativeSourceWindow } from './derivative-recipe.js';

/** Header facts that decide how much a decode holds. */
export interface DecodeShape {
  format: ImageFormat;
  /** As stored (before EXIF orientation). */
  width: number;
  height: number;
  /** Samples a pixel as decoded (1 grey … 4 RGBA/CMYK). */
  bands: number;
  /** 1 for 8-bit samples, 2 for 16-bit (and AVIF's 10/12-bit). */
  bytesPerSample: number;
  /** Interlaced PNG or progressive JPEG: the decoder needs every pass before the first row is final. */
  interlaced: boolean;
  /** JPEG only, e.g. '4:2:0': chroma planes are smaller than the luma one. */
  chromaSubsampling?: string;
}

const MiB = 2 ** 20;
/** libvips' own buffers, the output JPEG, sharp's pipeline: measured 9–66 MB over any decode. */
const baseBytes = 48 * MiB;
/**
 * Rows a sequential decode holds at once: libvips caches rows behind its read point for the
 * shrink (measured ~1,650 rows of a 10000-wide PNG, ~1,400 of a 50000×2000 one).
 */
const sequentialRows = 2048;
/** The derivative's side: shrink-on-load divides by at most min(width, height) / 600. */
const derivativeSide = 600;

/**
 * Bytes a decode of `shape` will hold at its peak (our estimate, not a bound libvips enforces).
 * Measured with sharp 0.35 / libvips 8.18 and a 100 MP image of each kind (peak RSS over the
 * process before the decode; sharp's operation cache off):
 *   non-interlaced PNG 66 MB · baseline JPEG 9 MB (shrink-on-load) · WebP 51–112 MB · TIFF 37–59 MB
 *   interlaced 16-bit RGBA PNG 848 MB · progressive 4:2:0 JPEG 295 MB (4:4:4 at 64 MP: 374 MB)
 *   GIF 448 MB · AVIF 294 MB at only 16 MP (libheif's planes plus RGBA) · BMP (our streaming decoder) 34 MB
 *   for a real 100 MB file (33 MP), the first on a fresh server.
 * Whole-frame decoders are counted in full; sequential ones by the rows they keep.
 */
export function decodeFootprint(shape: DecodeShape): number {
  const { width, height, interlaced } = shape;
  const bands = Math.max(1, shape.bands);
  const sample = Math.max(1, shape.bytesPerSample);
  const frame = width * height * bands * sample;
  const rows = (decodedWidth: number) => decodedWidth * Math.max(3, bands) * sample * Math.min(height, sequentialRows);
  switch (shape.format) {
    case 'png':
      return baseBytes + (interlaced ? frame : rows(width));
    case 'jpeg':
      // Progressive: libjpeg keeps every DCT coefficient (2 bytes a sample) until the last scan.
      if (interlaced) return baseBytes + width * height * 2 * (1 + (bands - 1) * chromaFraction(shape.chromaSubsampling));
      return baseBytes + rows(Math.ceil(width / jpegShrinkOnLoad(width, height)));
    case 'webp':
      // libwebp scales while it decodes; measured about the same as a sequential decode, plus its own buffers.
      return 2 * baseBytes + rows(width);
    case 'bmp': {
      // Our streaming decoder holds a 1 MiB read chunk and the shrunk window of RGB pixels the
      // derivative needs (see bmp-decoder.ts), whatever the file's size.
      const window = derivativeSourceWindow(width, height);
      return baseBytes + 2 ** 20 + Math.ceil(window.width / window.shrink) * Math.ceil(window.height / window.shrink) * 3;
    }
    case 'gif':
      // libnsgif decodes into an RGBA frame whatever the palette.
      return baseBytes + width * height * 4;
    case 'avif':
      // libheif's YUV planes, its RGB(A) conversion and libvips' copy: measured 18 bytes a pixel for RGBA.
      return baseBytes + Math.ceil(frame * 4.5);
    case 'tiff':
      // Strips and tiles may be as large as the image, and compression schemes differ: count it whole.
      return baseBytes + frame;
  }
}

/** Share of a chroma plane relative to luma. */
function chromaFraction(subsampling: string | undefined): number {
  if (subsampling?.startsWith('4:2:0')) return 0.25;
  if (subsampling?.startsWith('4:2:2') || subsampling?.startsWith('4:4:0')) return 0.5;
  return 1;
}

/** libjpeg decodes baseline JPEGs at 1/2, 1/4 or 1/8 scale when the derivative is that much smaller. */
function jpegShrinkOnLoad(width: number, height: number): number {
  const room = Math.min(width, height) / derivativeSide;
  return room >= 8 ? 8 : room >= 4 ? 4 : room >= 2 ? 2 : 1;
}
