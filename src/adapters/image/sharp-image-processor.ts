import sharp, { type Sharp } from 'sharp';
import { AppError, isAppError } from '../../core/errors.js';
import type { ImageProbe, PhotoMetadata } from '../../core/images/image.js';
import type { ImageLimits, ImageProcessor } from '../../ports/image-processor.js';
import { BmpDecoderPool } from './bmp-decoder-pool.js';
import { assertPixelDataPresent, readBmpHeader } from './bmp-header.js';
import { readPhotoMetadata } from './exif-reader.js';
import { detectImageFormat } from './format-detection.js';
import { assertWithinLimits } from './image-limits.js';

/** SPEC §2 "Derivative": the only form in which pixels are served. */
const derivativeSide = 600;
const derivativeQuality = 82;
// bmpimagejs keeps sizes in 16 bits.
const bmpMaxSide = 0xffff;

/**
 * ImageProcessor on sharp (libvips) for PNG, JPEG, WebP, GIF, TIFF and AVIF, and on a worker-thread
 * decoder for BMP, which libvips cannot read. Call `close()` on shutdown.
 */
export class SharpImageProcessor implements ImageProcessor {
  private readonly bmpDecoders = new BmpDecoderPool();

  constructor(private readonly limits: ImageLimits) {}

  async probe(path: string): Promise<ImageProbe> {
    const format = await detectImageFormat(path);
    if (format === 'bmp') {
      const { header } = await readBmpHeader(path);
      return { format, width: header.width, height: header.height };
    }
    try {
      // metadata() reads the header only; no limit here, the core judges the returned size.
      const metadata = await sharp(path, { limitInputPixels: false }).metadata();
      // Width and height as displayed: EXIF orientations 5–8 swap them.
      const { width, height } = metadata.autoOrient;
      if (!width || !height) throw new AppError('CORRUPT_IMAGE', 'The image header has no size');
      return { format, width, height };
    } catch (error) {
      throw toAppError(error, path, this.limits);
    }
  }

  async renderDerivative(path: string, probe: ImageProbe): Promise<Buffer> {
    assertWithinLimits(probe.width, probe.height, this.limits);
    const input = probe.format === 'bmp' ? await this.decodeBmp(path) : this.openWithSharp(path);
    try {
      return await input
        .resize(derivativeSide, derivativeSide, { fit: 'cover', position: 'centre' })
        .flatten({ background: '#ffffff' })
        .toColourspace('srgb')
        // Baseline, no metadata: sharp writes none unless told to keep it.
        .jpeg({ quality: derivativeQuality, mozjpeg: false, progressive: false })
        .toBuffer();
    } catch (error) {
      throw toAppError(error, path, this.limits);
    }
  }

  async readMetadata(path: string, probe: ImageProbe): Promise<PhotoMetadata> {
    return readPhotoMetadata(path, probe.format);
  }

  /** Waits for running BMP decodes, then stops the decoder threads. */
  async close(): Promise<void> {
    await this.bmpDecoders.close();
  }

  private openWithSharp(path: string): Sharp {
    return (
      sharp(path, {
        limitInputPixels: this.limits.maxPixels,
        // Rejects truncated files (SPEC §4: 422) but not harmless warnings such as stray bytes
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

  private async decodeBmp(path: string): Promise<Sharp> {
    const { header, fileSize } = await readBmpHeader(path);
    // The header, not the probe, is what the decoder will trust: check it before decoding.
    assertWithinLimits(header.width, header.height, this.limits);
    assertWithinLimits(header.width, header.height, { maxPixels: Infinity, maxDimension: bmpMaxSide });
    assertPixelDataPresent(header, fileSize);
    const image = await this.bmpDecoders.decode(path, header, fileSize);
    return sharp(image.pixels, {
      raw: { width: image.width, height: image.height, channels: image.channels },
      limitInputPixels: this.limits.maxPixels,
    });
  }
}

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
