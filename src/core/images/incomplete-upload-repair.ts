import type { BlobStore } from '../../ports/blob-store.js';
import type { StoreSlice } from '../../ports/store-slice.js';
import { derivativeKey, originalKey } from './blob-keys.js';
import type { Image } from './image.js';
import { retireImage } from './image-retirement.js';

/** What became of an image without `uploadCompletedAt`. */
export type RepairOutcome = 'complete' | 'completed' | 'removed' | 'pending';

export interface IncompleteUploadRepairOptions {
  /** An incomplete image without bytes older than this is given up on (`READ_REPAIR_AFTER`, default 1 h). */
  maxAgeMs: number;
  now?: () => number;
}

/**
 * Read repair: an image row can exist without `uploadCompletedAt` when its
 * bytes were meant to follow (a crash, another writer, an older version). When such an image is
 * read or swept, the blob store decides: bytes present → the upload did complete, record it
 * (`UploadCompleted`); absent and old → it never will, retire the row (`ImageDeleted`); otherwise
 * it is still pending.
 */
export class IncompleteUploadRepair {
  private readonly now: () => number;

  constructor(
    private readonly deps: { store: StoreSlice<'events' | 'feed' | 'images' | 'jobs' | 'posts'>; blobs: BlobStore },
    private readonly options: IncompleteUploadRepairOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The image as it stands after repair, or null when it was retired (or is gone). */
  async repair(image: Image, maxAgeMs = this.options.maxAgeMs): Promise<{ outcome: RepairOutcome; image: Image | null }> {
    if (image.uploadCompletedAt !== null) return { outcome: 'complete', image };
    const { store, blobs } = this.deps;
    const now = this.now();
    if (await blobs.head(originalKey(image.sha256))) {
      const derivativeMissing = (await blobs.head(derivativeKey(image.sha256))) === null;
      const completed = await store.transaction(async (tx) => {
        if (!(await tx.images.markUploadCompleted(image.id, now))) return false;
        if (derivativeMissing) {
          await tx.jobs.enqueue({ name: 'blob.render-derivative', payload: { sha256: image.sha256 }, key: `blob.render-derivative:${image.sha256}` }, now);
        }
        if (image.metadataExtractedAt === null) {
          await tx.jobs.enqueue({ name: 'image.extract-metadata', payload: { imageId: image.id }, key: `image.extract-metadata:${image.id}` }, now);
        }
        await tx.events.append({ type: 'UploadCompleted', actorId: null, subjectId: image.id, payload: { repairedBy: 'read-repair' } });
        return true;
      });
      const current = await store.images.findById(image.id);
      return { outcome: completed ? 'completed' : current ? 'complete' : 'removed', image: current };
    }
    if (image.createdAt > now - maxAgeMs) return { outcome: 'pending', image };
    const removed = await store.transaction(async (tx) => {
      // Locks the row: an upload completing it concurrently either committed first (we back off) or waits for us.
      if (!(await tx.images.markFailed(image.id))) return false;
      return retireImage(tx, image, 'upload-never-completed', now);
    });
    if (removed) return { outcome: 'removed', image: null };
    const current = await store.images.findById(image.id);
    return { outcome: current ? 'complete' : 'removed', image: current };
  }
}
