import { fileTypeFromFile } from 'file-type';
import { AppError } from '../../core/errors.js';
import type { ImageFormat } from '../../core/images/image.js';

// file-type's extension → our format. APNG is a PNG whose first frame every PNG decoder shows.
const formatsByExtension: Readonly<Record<string, ImageFormat>> = {
  png: 'png',
  apng: 'png',
  jpg: 'jpeg',
  bmp: 'bmp',
  webp: 'webp',
  gif: 'gif',
  tif: 'tiff',
  avif: 'avif',
};

/**
 * Detects the format from the file's magic bytes, never its name. Reads only the first
 * few KB. Throws UNSUPPORTED_FORMAT for anything that is not one of `imageFormats`; file-system
 * errors (a missing staging file) propagate unchanged, since they say nothing about the image.
 */
export async function detectImageFormat(path: string): Promise<ImageFormat> {
  const detected = await fileTypeFromFile(path);
  const format = detected ? formatsByExtension[detected.ext] : undefined;
  if (!format) {
    const what = detected ? `${detected.mime} is` : 'these bytes are';
    throw new AppError('UNSUPPORTED_FORMAT', `${what} not a supported image format (PNG, JPEG, BMP, WebP, GIF, TIFF, AVIF)`);
  }
  return format;
}
