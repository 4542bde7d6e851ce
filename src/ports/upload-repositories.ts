import type { Image } from '../core/images/image.js';
import type { ResumableUpload } from '../core/uploads/resumable-upload.js';
import type { UploadLink } from '../core/uploads/upload-link.js';

/**
 * Resumable uploads (part of the MetadataStore, see `MetadataRepositories.uploads`). Every state
 * change is one conditional statement, so concurrent requests and several processes agree on
 * who finished, claimed, consumed or deleted an upload.
 */
export interface UploadRepository {
  /** Inserts a new upload (its owner must exist). */
  insert(upload: ResumableUpload): Promise<void>;
  /** The upload with that id, or null. */
  findById(id: string): Promise<ResumableUpload | null>;
  /** Records how many bytes have arrived, while unfinished; returns whether a row changed. */
  recordReceived(id: string, received: number): Promise<boolean>;
  /** Marks it finished at `at` with the hash of its bytes (`received` becomes `size`), once; returns whether this call did. */
  markFinished(id: string, sha256: string, at: number): Promise<boolean>;
  /**
   * Claims the owner's finished, unconsumed upload, unexpired at `now`, for consumption until
   * `until`, unless another claim still holds it at `now`. Race-safe: of concurrent claims exactly
   * one wins. Returns whether this call claimed it.
   */
  claim(id: string, ownerId: string, now: number, until: number): Promise<boolean>;
  /** Lets go of a claim whose consumption failed; a consumed upload stays consumed. */
  releaseClaim(id: string): Promise<void>;
  /** Marks it consumed into `imageId` at `at` and drops the claim, once; returns whether this call did. */
  markConsumed(id: string, imageId: string, at: number): Promise<boolean>;
  /** Deletes it unless it was consumed or a claim holds it at `now`; returns whether it was deleted. */
  deleteIdle(id: string, now: number): Promise<boolean>;
  /** Deletes it if it expired at `now` and no claim holds it then; returns whether it was deleted. */
  deleteExpired(id: string, now: number): Promise<boolean>;
  /** Up to `limit` uploads expired at `now` (`expiresAt <= now`) that no claim holds then, earliest expiry first. */
  listExpired(now: number, limit: number): Promise<ResumableUpload[]>;
  /** Those of `ids` that have a row, in no particular order; one query whatever `ids.length`. */
  existingIds(ids: readonly string[]): Promise<string[]>;
}

/** Upload links (part of the MetadataStore, see `MetadataRepositories.uploadLinks`). */
export interface UploadLinkRepository {
  /** Inserts a link (its owner must exist); token hashes are unique. */
  insert(link: UploadLink): Promise<void>;
  /** The link with that id, or null. */
  findById(id: string): Promise<UploadLink | null>;
  /** The link whose token has that SHA-256, or null (expired ones too: the caller says 410). */
  findByTokenHash(tokenHash: string): Promise<UploadLink | null>;
  /**
   * Counts one more image of `bytes` against the link, if it is unexpired at `now` and stays within
   * both caps. One conditional statement: concurrent reservations can never overshoot a cap.
   * Returns whether it was counted.
   */
  reserve(id: string, bytes: number, now: number): Promise<boolean>;
  /** Gives back a reservation of `bytes` whose image was not kept. */
  release(id: string, bytes: number): Promise<void>;
  /** Up to `limit` images owned through the link, newest first (id desc), strictly after the image id `after`. */
  listImages(id: string, after: string | null, limit: number): Promise<Image[]>;
}
