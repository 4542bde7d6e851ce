import type { StagedFile } from '../../ports/staging-area.js';
import { AppError } from '../errors.js';

/**
 * Bytes already received and hashed, not yet an image (the caller discards them). `durable` when
 * they are being fsynced already (staged files are; a resumable upload's local copy may not be,
 * and the blob store then syncs it itself).
 */
export type StagedImage = Pick<StagedFile, 'path' | 'sha256' | 'size'> & Partial<Pick<StagedFile, 'durable'>>;

/**
 * Where a write's image comes from: an image the user has, a finished resumable upload of theirs
 * (used up by the write), or bytes the request itself carried.
 */
export type ImageSource = { id: string } | { uploadId: string } | { staged: StagedImage };

/**
 * The source named by exactly one of an image id and an upload id, as both APIs take them (an
 * empty string counts as absent). Throws VALIDATION_FAILED, with `hint` appended.
 */
export function namedImageSource(imageId: string | null | undefined, uploadId: string | null | undefined, hint = ''): ImageSource {
  if (imageId && !uploadId) return { id: imageId };
  if (uploadId && !imageId) return { uploadId };
  throw new AppError('VALIDATION_FAILED', `Name the image with exactly one of imageId and uploadId${hint ? `. ${hint}` : ''}`);
}
