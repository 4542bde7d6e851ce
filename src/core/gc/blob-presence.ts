import type { BlobStore } from '../../ports/blob-store.js';

/**
 * Learns which keys a store holds by walking its listing alongside keys asked in ascending order:
 * one LIST per thousand objects on S3 instead of a HEAD each. A key the listing did not show is
 * "not seen", never "absent": the listing may be older than the key, and a store's order may
 * differ from the caller's, so callers confirm with a HEAD before acting on it.
 */
export class BlobPresence {
  private readonly listing: AsyncIterator<{ key: string }>;
  /** The listing's current key; undefined before the first read, null once it is exhausted. */
  private current: string | null | undefined;

  constructor(blobs: BlobStore, prefix: string) {
    this.listing = blobs.list(prefix)[Symbol.asyncIterator]();
  }

  /** Whether the listing holds `key`. Ask in ascending order; a key asked out of order is just not seen. */
  async seen(key: string): Promise<boolean> {
    while (this.current === undefined || (this.current !== null && this.current < key)) {
      const next = await this.listing.next();
      this.current = next.done ? null : next.value.key;
    }
    return this.current === key;
  }

  /** Stops the listing early (on abort or error), releasing what it holds. */
  async close(): Promise<void> {
    await this.listing.return?.();
  }
}
