import type { BlobStore } from '../../ports/blob-store.js';
import type { StoreSlice } from '../../ports/store-slice.js';
import type { GcProgress } from './gc-report.js';

/** The repositories a collection reads and changes (retiring an image retires its post from the feed too). */
export type GcStore = StoreSlice<'blobRecords' | 'events' | 'feed' | 'images' | 'jobs' | 'posts' | 'uploads'>;

/** What every phase of a collection shares. */
export interface GcContext {
  store: GcStore;
  blobs: BlobStore;
  /** The run's "now" (epoch ms), fixed at its start: graces are measured from it. */
  now: number;
  graceMs: number;
  dryRun: boolean;
  signal: AbortSignal | undefined;
  progress: (progress: GcProgress) => void;
}

/** Rows examined per query; each page is re-read from the store, never kept across decisions. */
export const gcPageSize = 500;
/** Blob-store calls in flight at once (stat calls locally, HEAD requests on S3). */
export const gcBlobConcurrency = 8;
