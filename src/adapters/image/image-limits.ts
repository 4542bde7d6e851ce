import { AppError } from '../../core/errors.js';
import type { ImageLimits } from '../../ports/image-processor.js';

/**
 * Throws IMAGE_DIMENSIONS_TOO_LARGE when `width`×`height` exceeds the pixel or side limit.
 * Called with header dimensions, before any pixel is decoded.
 */
export function assertWithinLimits(width: number, height: number, limits: ImageLimits): void {
  if (width * height > limits.maxPixels) {
    throw new AppError('IMAGE_DIMENSIONS_TOO_LARGE', `The image has ${width}×${height} pixels; at most ${limits.maxPixels} are allowed`, {
      limit: limits.maxPixels,
    });
  }
  if (Math.max(width, height) > limits.maxDimension) {
    throw new AppError('IMAGE_DIMENSIONS_TOO_LARGE', `The image is ${width}×${height}; no side may exceed ${limits.maxDimension} pixels`, {
      limit: limits.maxDimension,
    });
  }
}
