import type { Readable } from 'node:stream';

/** An upload received into local staging, hashed while it streamed in. */
export interface StagedFile {
  /** Absolute path of the staged bytes (fsynced). */
  path: string;
  /** Always true: the bytes were fsynced before `receive` resolved, so promoting them need not sync them again. */
  synced: true;
  /** Lower-case hex SHA-256 of the bytes. */
  sha256: string;
  size: number;
  /** Removes the staged file; safe to call twice. */
  discard(): Promise<void>;
}

/**
 * A local working directory where uploads land before they are checked and promoted to the blob
 * store. Staged file names are recognisable (`*.staging`) so garbage collection can sweep
 * leftovers of a crash.
 */
export interface StagingArea {
  /**
   * Streams `source` into a new staging file, hashing as it goes, and fsyncs it. Never buffers the
   * whole upload. Throws AppError('IMAGE_TOO_LARGE') when more than `maxBytes` arrive: past the
   * limit nothing more is written, the rest of `source` is read and discarded (so a multipart
   * parser behind it can finish; callers cap the source) and the partial file is removed.
   * Throws AppError('STORAGE_FULL') when the disk has no room and AppError('SERVER_BUSY') when the
   * process is out of file descriptors; the partial file is removed then too. Any other error
   * (the source failing: a client gone, a body cut off) is rethrown, file removed.
   */
  receive(source: Readable, maxBytes: number): Promise<StagedFile>;
  /**
   * Resolves when a new upload could be staged now: the directory takes a small write. Throws
   * the errors of `receive` otherwise. Cheap enough for a readiness probe (results may be cached
   * for a second or two).
   */
  ping(): Promise<void>;
  /** Staging files last written before `olderThan` (epoch ms), with their sizes, for garbage collection. */
  listStale(olderThan: number): Promise<{ path: string; size: number }[]>;
  /**
   * Removes what serving processes left here (a process killed mid-upload), whatever its age, but
   * not what a one-shot command is staging beside them. Only for the start-up of a process that
   * owns the area alone (its data dir locked): no request of its own can be in flight yet.
   */
  clearLeftovers(): Promise<{ files: number; bytes: number }>;
  /** Removes a file returned by listStale; succeeds when it is already gone. */
  remove(path: string): Promise<void>;
}
