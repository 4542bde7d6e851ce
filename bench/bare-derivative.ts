import sharp from 'sharp';

/**
 * The derivative exactly as the product defines it, with bare sharp: what the upload → derivative path is
 * held to (≥ 80 % of this). Same options as the server's processor: pixel limit,
 * truncated files rejected, sequential read, EXIF orientation applied before the cover crop.
 */
export function bareDerivative(path: string): Promise<Buffer> {
  return sharp(path, { limitInputPixels: 100e6, failOn: 'truncated', sequentialRead: true })
    .rotate()
    .resize(600, 600, { fit: 'cover', position: 'centre' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .jpeg({ quality: 82 })
    .toBuffer();
}
