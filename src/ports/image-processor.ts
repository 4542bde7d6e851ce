import type { ImageFormat, ImageProbe, PhotoMetadata } from '../core/images/image.js';

/**
 * Reads and renders images from local files (staged uploads). Adapter: sharp (libvips) plus a
 * worker-thread BMP decoder. Whatever is wrong with the image is an AppError (UNSUPPORTED_FORMAT,
 * CORRUPT_IMAGE, IMAGE_DIMENSIONS_TOO_LARGE), never a library's own error; failures that say
 * nothing about the image (file system, a crashed worker) propagate unchanged so a caller can retry.
 */
export interface ImageProcessor {
  /**
   * Detects the format from the magic bytes (never the name) and reads width and height from the
   * header without decoding pixels; width and height are as displayed (after EXIF orientation). Throws UNSUPPORTED_FORMAT for anything not in `imageFormats`,
   * CORRUPT_IMAGE when the header cannot be read.
   */
  probe(path: string): Promise<ImageProbe>;
  /**
   * Decodes the whole image and renders the derivative: a 600×600 baseline JPEG, cover
   * crop, EXIF orientation applied, sRGB, alpha flattened on white, no metadata at all.
   * Throws CORRUPT_IMAGE for truncated or undecodable data, IMAGE_DIMENSIONS_TOO_LARGE when the
   * decoder meets more pixels or a longer side than the configured limits.
   */
  renderDerivative(path: string, probe: ImageProbe): Promise<Buffer>;
  /**
   * EXIF facts (camera, taken-at, GPS) of a file already probed as `format` (an image row's
   * format: no second probe). Never throws for absent or broken EXIF: returns empties. A file that
   * cannot be read (a file-system error) throws, so the caller can retry.
   */
  readMetadata(path: string, format: ImageFormat): Promise<PhotoMetadata>;
  /** Releases worker threads; the processor is unusable afterwards. */
  close(): Promise<void>;
}

/** Limits an ImageProcessor enforces while decoding. */
export interface ImageLimits {
  /** Most pixels (width × height) an image may have. */
  maxPixels: number;
  /** Longest side an image may have, in pixels. */
  maxDimension: number;
}
