import type { Readable } from 'node:stream';

/** What the store knows of one object. */
export interface BlobInfo {
  key: string;
  size: number;
  /** Epoch ms of the last write, a whole number. */
  modifiedAt: number;
}

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A local file holding an object's bytes; `release()` when done with it. */
export interface LocalBlobFile {
  path: string;
  /** A no-op for a local store; a remote one deletes the copy it downloaded. Safe to call twice. */
  release(): Promise<void>;
}

/** How `putFile` may treat its source file. */
export interface PutFileOptions {
  /**
   * The caller has already fsynced the source file's bytes (staging does): a store that publishes
   * the file itself, by hard link, does not sync them a second time. Nothing else is relaxed: the
   * new object's directory entry is still durable before `putFile` resolves, and a store that
   * copies the bytes makes its copy durable as always.
   */
  sourceSynced?: boolean;
}

/**
 * Object storage for image bytes, shaped like S3 so an S3 adapter fits: flat string keys
 * (`originals/ab/cd/abcd…`), whole-object writes, ranged reads, listing by prefix.
 * Adapters: local directory (embedded), S3-compatible (scale-out). Keys are made of
 * `[a-z0-9/._-]` only; adapters may reject anything else. Methods throw
 * AppError('STORAGE_UNAVAILABLE') when the backend cannot be reached, AppError('STORAGE_FULL')
 * when it has no room left (a write that throws it leaves nothing under `key`) and, for a local
 * store, AppError('SERVER_BUSY') when the process is out of file descriptors.
 */
export interface BlobStore {
  /**
   * Makes the bytes of the local file `sourcePath` durable under `key` (fsynced / acknowledged by
   * the backend) before resolving. Content-addressed callers rely on this: when `key` already
   * exists nothing is written and `created` is false. `sourcePath` is left in place.
   */
  putFile(key: string, sourcePath: string, options?: PutFileOptions): Promise<{ created: boolean }>;
  /** Stores `body` durably under `key`, replacing any previous object atomically. */
  put(key: string, body: Buffer): Promise<void>;
  /** The whole object, or null when absent. Meant for small objects (derivatives). */
  get(key: string): Promise<Buffer | null>;
  /** A stream of the object's bytes (or of `range`), or null when absent. */
  createReadStream(key: string, range?: ByteRange): Promise<Readable | null>;
  /**
   * A local file with the object's bytes, for decoders that want a path, or null when absent. A
   * local store hands out the stored file itself: read it, never write or move it.
   */
  localFile(key: string): Promise<LocalBlobFile | null>;
  /** Size and time of the object, or null when absent. */
  head(key: string): Promise<BlobInfo | null>;
  /** Removes the object; succeeds when it is already absent. */
  delete(key: string): Promise<void>;
  /**
   * Every object whose key starts with `prefix`. Keys of one shape (the sharded hex keys of
   * blob-keys.ts) come in ascending string order, so a sorted list of hashes can be matched
   * against a listing in one pass; keys of mixed shapes may not (a directory walk orders segment
   * by segment, S3 byte by byte). Callers may save work with the order, never decide by it.
   */
  list(prefix: string): AsyncIterable<BlobInfo>;
  /** Resolves when the backend is reachable and writable. */
  ping(): Promise<void>;
}
