import type { BlobStore } from '../../ports/blob-store.js';
import type { ImageProcessor } from '../../ports/image-processor.js';
import type { StoreSlice } from '../../ports/store-slice.js';
import { BlobPins } from '../blobs/blob-pins.js';
import { isAppError } from '../errors.js';
import { derivativeKey, originalKey } from './blob-keys.js';
import { type DecodeBudget, describe } from './decode-budget.js';

/** What one rendering did. */
export type RenderOutcome = 'rendered' | 'unreferenced' | 'original-missing' | 'undecodable';

/**
 * The `blob.render-derivative` job (`imagegram reprocess`, and repairs of a missing JPEG): renders
 * the 600×600 JPEG of a blob again from its original with the current recipe. Holds a pin while it
 * works, like ingest, so a collection cannot delete the blob under it.
 */
export class DerivativeRendering {
  private readonly pins: BlobPins;

  constructor(
    private readonly deps: { store: StoreSlice<'blobRecords' | 'events' | 'images'>; blobs: BlobStore; processor: ImageProcessor; decodeBudget: DecodeBudget },
  ) {
    this.pins = new BlobPins(deps);
  }

  /** Renders the derivative of `sha256` if some image still uses it. Throws on storage failures (retried). */
  async run({ sha256 }: { sha256: string }): Promise<RenderOutcome> {
    const { store, blobs, processor } = this.deps;
    const record = await store.blobRecords.find(sha256);
    if (!record || (await store.images.countByHash(sha256)) === 0) return 'unreferenced';
    const pin = await this.pins.pin(sha256, record.size);
    try {
      const local = await blobs.localFile(originalKey(sha256));
      // Nothing to render from: garbage collection reports the missing original (BlobMissing).
      if (!local) return 'original-missing';
      let jpeg: Buffer;
      try {
        const probe = await processor.probe(local.path);
        // The same budget as uploads: a reprocessing run must not stack decodes on top of them.
        jpeg = await this.deps.decodeBudget.run(probe.decodeBytes, describe(probe), () => processor.renderDerivative(local.path, probe));
      } catch (error) {
        // Bytes that decoded at upload and no longer do are a verify matter, not worth retrying.
        if (isAppError(error) && error.kind !== 'unavailable') return 'undecodable';
        throw error;
      } finally {
        await local.release();
      }
      await blobs.put(derivativeKey(sha256), jpeg);
      await store.events.append({ type: 'DerivativeRendered', actorId: null, subjectId: sha256, payload: { key: derivativeKey(sha256) } });
      return 'rendered';
    } finally {
      await pin.release();
    }
  }
}
