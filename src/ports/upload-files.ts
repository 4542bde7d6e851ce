/** What `UploadFiles.seal` learned about a complete upload's bytes. */
export interface SealedBytes {
  /** Lower-case hex SHA-256 of the bytes, computed by reading them back, start to end. */
  sha256: string;
  size: number;
}

/** A local file holding an upload's bytes, for ingest to read; `release()` when done with it. */
export interface LocalUploadFile {
  path: string;
  /** A no-op for a local store; a remote one deletes the copy it downloaded. Safe to call twice. */
  release(): Promise<void>;
}

/**
 * The bytes of resumable uploads, as the resumable-upload protocol's data store keeps them (one
 * object per upload id, plus the protocol's own bookkeeping). The core reads and removes them
 * through this port; only the protocol's server writes them. Adapters: the tus file store
 * (embedded, one process) and the tus S3 store (scale-out: the blob store's bucket, any process). Upload ids are made of
 * `[A-Za-z0-9_-]` only; adapters refuse anything else.
 */
export interface UploadFiles {
  /** How many bytes of the upload are stored so far, or null when none are (never created, or removed). */
  received(id: string): Promise<number | null>;
  /**
   * Reads the stored bytes start to end, hashing them (SHA-256), and makes them durable (on disk,
   * fsync: the tus file store never syncs; S3 stores durably before it acknowledges), so what is
   * sealed survives a power cut. Rejects when there are none (or when they are still incomplete).
   */
  seal(id: string): Promise<SealedBytes>;
  /** A local file with the upload's bytes. Rejects when there are none. */
  localFile(id: string): Promise<LocalUploadFile>;
  /**
   * Removes the upload's bytes and bookkeeping. A write in progress is stopped first (it holds the
   * protocol's lock on the upload). Succeeds when they are already gone.
   */
  remove(id: string): Promise<void>;
  /** Every stored upload with its last write time (epoch ms), for sweeping leftovers that have no row. */
  list(): AsyncIterable<{ id: string; modifiedAt: number }>;
}
