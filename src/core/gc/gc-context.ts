import type { BlobStore } from '../../ports/blob-store.js';
import type { MetadataStore } from '../../ports/metadata-store.js';
import type { GcProgress } from './gc-report.js';

/** What every phase of a collection shares. */
export interface GcContext {
  store: MetadataStore;
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
