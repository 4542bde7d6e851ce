import type { Sharp } from 'sharp';

/** The derivative's side and quality: the only form in which pixels are served. */
const derivativeSide = 600;
const derivativeQuality = 82;

/**
 * The derivative recipe, applied to an opened image (EXIF orientation already applied): 600×600
 * cover crop, alpha flattened on white, sRGB, baseline JPEG without metadata. Shared by the main
 * thread (sharp's formats) and the BMP worker, which renders its own pixels so they never cross threads.
 */
export function toDerivative(image: Sharp): Promise<Buffer> {
  return (
    image
      .resize(derivativeSide, derivativeSide, { fit: 'cover', position: 'centre' })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      // Baseline, no metadata: sharp writes none unless told to keep it.
      .jpeg({ quality: derivativeQuality, mozjpeg: false, progressive: false })
      .toBuffer()
  );
}
