import type { ImageProbe, PhotoMetadata } from '../core/images/image.js';

/**
 * Reads and renders images from local files (staged uploads). Adapter: sharp (libvips) plus a
 * worker-thread BMP decoder. All methods throw AppError only, never a library's own error:
 * UNSUPPORTED_FORMAT, CORRUPT_IMAGE or IMAGE_DIMENSIONS_TOO_LARGE.
 */
export interface ImageProcessor {
  /**
   * Detects the format from the magic bytes (never the name) and reads width and height from the
   * header without decoding pixels. Throws UNSUPPORTED_FORMAT for anything not in `imageFormats`,
   * CORRUPT_IMAGE when the header cannot be read.
   */
  probe(path: string): Promise<ImageProbe>;
  /**
   * Decodes the whole image and renders the derivative (SPEC §2): a 600×600 baseline JPEG, cover
   * crop, EXIF orientation applied, sRGB, alpha flattened on white, no metadata at all.
   * Throws CORRUPT_IMAGE for truncated or undecodable data, IMAGE_DIMENSIONS_TOO_LARGE when the
   * decoder meets more pixels than the configured limit.
   */
  renderDerivative(path: string, probe: ImageProbe): Promise<Buffer>;
  /** EXIF facts (camera, taken-at, GPS). Never throws for absent or broken EXIF: returns empties. */
  readMetadata(path: string, probe: ImageProbe): Promise<PhotoMetadata>;
}

/** Limits an ImageProcessor enforces while decoding. */
export interface ImageLimits {
  /** Most pixels (width × height) an image may have. */
  maxPixels: number;
  /** Longest side an image may have, in pixels. */
  maxDimension: number;
}
