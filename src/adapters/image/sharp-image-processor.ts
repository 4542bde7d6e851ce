import sharp, { type Metadata, type Sharp } from 'sharp';
import { AppError, isAppError } from '../../core/errors.js';
import type { ImageFormat, ImageProbe, PhotoMetadata } from '../../core/images/image.js';
import type { ImageLimits, ImageProcessor } from '../../ports/image-processor.js';
import { BmpDecoderPool, BmpDecoderUnavailable } from './bmp-decoder-pool.js';
import { assertPixelDataPresent, readBmpHeader } from './bmp-header.js';
import { type DecodeShape, decodeFootprint } from './decode-footprint.js';
import { toDerivative } from './derivative-recipe.js';
import { readPhotoMetadata } from './exif-reader.js';
import { detectImageFormat } from './format-detection.js';
import { assertWithinLimits } from './image-limits.js';

/**
 * ImageProcessor on sharp (libvips) for PNG, JPEG, WebP, GIF, TIFF and AVIF, and on a streaming
 * decoder of our own in worker threads for BMP, which libvips cannot read. Call `close()` on shutdown.
 */
export class SharpImageProcessor implements ImageProcessor {
  private readonly bmpDecoders = new BmpDecoderPool();

  constructor(private readonly limits: ImageLimits) {
    // libvips' operation cache (process-wide) kept the decoded frames of finished renders: 290 MB
    // after one progressive 100 MP JPEG, 390 MB after a GIF. Every upload is new bytes, so it never
    // hits; off, the memory comes back as each render ends (measured: RSS back to 104–155 MB).
    sharp.cache(false);
  }

  async probe(path: string): Promise<ImageProbe> {
    const format = await detectImageFormat(path);
    if (format === 'bmp') {
      const { header } = await readBmpHeader(path);
      const { width, height } = header;
      const decodeBytes = decodeFootprint({ format, width, height, bands: 3, bytesPerSample: 1, interlaced: false });
      return { format, width, height, decodeBytes };
    }
    try {
      // metadata() reads the header only; no limit here, the core judges the returned size.
      const metadata = await sharp(path, { limitInputPixels: false }).metadata();
      // Width and height as displayed: EXIF orientations 5–8 swap them.
      const { width, height } = metadata.autoOrient;
      if (!width || !height) throw new AppError('CORRUPT_IMAGE', 'The image header has no size');
      return { format, width, height, decodeBytes: decodeFootprint({ format, ...decodeShape(metadata) }) };
    } catch (error) {
      throw toAppError(error, path, this.limits);
    }
  }

  async renderDerivative(path: string, probe: ImageProbe): Promise<Buffer> {
    assertWithinLimits(probe.width, probe.height, this.limits);
    try {
      return probe.format === 'bmp' ? await this.renderBmp(path) : await toDerivative(this.openWithSharp(path));
    } catch (error) {
      if (error instanceof BmpDecoderUnavailable) throw error;
      throw toAppError(error, path, this.limits);
    }
  }

  async readMetadata(path: string, format: ImageFormat): Promise<PhotoMetadata> {
    return readPhotoMetadata(path, format);
  }

  /** Waits for running BMP decodes, then stops the decoder threads. */
  async close(): Promise<void> {
    await this.bmpDecoders.close();
  }

  private openWithSharp(path: string): Sharp {
    return (
      sharp(path, {
        limitInputPixels: this.limits.maxPixels,
        // Rejects truncated files (422) but not harmless warnings such as stray bytes
        // before a JPEG marker, which sharp's default 'warning' refuses and every viewer shows.
        failOn: 'truncated',
        sequentialRead: true,
        // GIF, WebP and TIFF: the first frame or page only (sharp's default, stated for the reader).
        pages: 1,
      })
        // EXIF orientation must be applied before the crop, and the tag is dropped with the metadata.
        .rotate()
    );
  }

  private async renderBmp(path: string): Promise<Buffer> {
    const { header, fileSize } = await readBmpHeader(path);
    // The header, not the probe, is what the decoder will trust: check it before decoding.
    assertWithinLimits(header.width, header.height, this.limits);
    assertPixelDataPresent(header, fileSize);
    return this.bmpDecoders.renderDerivative(path, header, fileSize, this.limits.maxPixels);
  }
}

/** Bands, sample size and scan order as the decoder will see them (stored size, not displayed). */
function decodeShape(metadata: Metadata): Omit<DecodeShape, 'format'> {
  return {
    width: metadata.width,
    height: metadata.height,
    bands: metadata.channels,
    bytesPerSample: bytesPerSample[metadata.depth] ?? 1,
    // sharp reports libvips' "interlaced" flag: progressive JPEG and Adam7 PNG alike.
    interlaced: metadata.isProgressive === true,
    ...(metadata.chromaSubsampling ? { chromaSubsampling: metadata.chromaSubsampling } : {}),
  };
}

const bytesPerSample: Partial<Record<string, number>> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  double: 8,
  complex: 8,
  dpcomplex: 16,
};

/** sharp's errors as AppErrors: the pixel limit, else a short CORRUPT_IMAGE detail without our paths. */
function toAppError(error: unknown, path: string, limits: ImageLimits): AppError {
  if (isAppError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('exceeds pixel limit')) {
    return new AppError('IMAGE_DIMENSIONS_TOO_LARGE', 'The image has more pixels than allowed', { limit: limits.maxPixels });
  }
  const firstLine = message.split('\n')[0]!.replaceAll(path, 'the image').slice(0, 200);
  return new AppError('CORRUPT_IMAGE', `The image cannot be decoded: ${firstLine}`);
}
