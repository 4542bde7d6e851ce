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

/** The part of an image a decoder of our own must deliver, and by how much it may shrink it first. */
export interface SourceWindow {
  left: number;
  top: number;
  width: number;
  height: number;
  /** Integer box-shrink factor (1: none) to apply before handing the window to `toDerivative`. */
  shrink: number;
}

/**
 * What `toDerivative` needs of a `width`×`height` image: the centre square its cover crop keeps
 * (plus a margin for the resampling kernel, so the crop's edge pixels come out the same), box-shrunk
 * by the integer factor libvips' own resize would shrink by first (it shrinks to at most twice the
 * target, then resamples with Lanczos 3). Lets a decoder of our own hold only a few MB of pixels,
 * whatever the image's size, and give the same derivative as the whole image would.
 */
export function derivativeSourceWindow(width: number, height: number): SourceWindow {
  const short = Math.min(width, height);
  // Lanczos 3 reaches 3 output pixels past the crop; 4 output pixels' worth of source is ample.
  const margin = Math.ceil((4 * short) / derivativeSide);
  const keptWidth = Math.min(width, short + 2 * margin);
  const keptHeight = Math.min(height, short + 2 * margin);
  return {
    left: Math.floor((width - keptWidth) / 2),
    top: Math.floor((height - keptHeight) / 2),
    width: keptWidth,
    height: keptHeight,
    shrink: Math.max(1, Math.floor(short / (2 * derivativeSide))),
  };
}
