import type { BlobStore } from '../../ports/blob-store.js';
import type { StoreSlice } from '../../ports/store-slice.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import { finishStuckDeletion } from './blob-deletion.js';

/** A hold on a blob against garbage collection; the ingest that took it drops it in its image's transaction. */
export interface BlobPin {
  readonly id: string;
  /** Drops the pin now (a failed ingest); never throws: an unreleased pin expires on its own. */
  release(): Promise<void>;
}

export interface BlobPinsOptions {
  /** How long a pin holds if it is never released (a crashed ingest); longer than any ingest takes. */
  pinMs?: number;
  /** How long to wait for a collection deleting the same bytes to finish before giving up. */
  waitMs?: number;
  now?: () => number;
}

/**
 * Pins blobs for the writers of blob bytes (ingest, derivative rendering), so a concurrent garbage
 * collection can never delete bytes that a row is about to point at. Without it, a re-upload of
 * bytes whose last image was just deleted finds the blob present, skips writing it, and commits
 * its row after the collector deleted it: a 201 with nothing behind it. See BlobRecordRepository.
 */
export class BlobPins {
  private readonly pinMs: number;
  private readonly waitMs: number;
  private readonly now: () => number;

  constructor(
    private readonly deps: { store: StoreSlice<'blobRecords' | 'events'>; blobs: BlobStore },
    options: BlobPinsOptions = {},
  ) {
    this.pinMs = options.pinMs ?? 3_600_000;
    this.waitMs = options.waitMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Pins the blob `sha256` (recording it if unknown), waiting while a collection deletes it: once
   * it is gone the bytes are simply written anew. A deletion left behind by a collector that died
   * mid-way is finished here rather than waited for. Throws STORAGE_UNAVAILABLE when a live
   * deletion does not finish within the wait.
   */
  async pin(sha256: string, size: number): Promise<BlobPin> {
    const { store } = this.deps;
    const id = newId();
    const deadline = this.now() + this.waitMs;
    for (let delay = 10; ; delay = Math.min(delay * 2, 500)) {
      const now = this.now();
      if ((await store.blobRecords.pin(sha256, size, id, now, now + this.pinMs)) === 'pinned') break;
      if (await finishStuckDeletion({ ...this.deps, clock: this.now }, sha256, now)) continue;
      if (now >= deadline) throw new AppError('STORAGE_UNAVAILABLE', 'The same bytes are being garbage-collected right now; try again shortly');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    return {
      id,
      release: () => store.blobRecords.unpin(id).catch(() => {}),
    };
  }
}
