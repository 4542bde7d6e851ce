import type { Readable } from 'node:stream';

/** An upload received into local staging, hashed while it streamed in. */
export interface StagedFile {
  /** Absolute path of the staged bytes. */
  path: string;
  /**
   * Settles once the bytes are fsynced. The sync starts when the last byte is written and runs
   * while the caller reads the bytes (probe, render): whatever publishes them waits for it first,
   * and then need not sync them again. Rejects like `receive` (STORAGE_FULL, SERVER_BUSY, ...);
   * nobody has to await it, and a rejection nobody awaits is not an unhandled one.
   */
  durable: Promise<void>;
  /** Lower-case hex SHA-256 of the bytes. */
  sha256: string;
  size: number;
  /** Removes the staged file (once its sync has ended); safe to call twice. */
  discard(): Promise<void>;
}

/**
 * A local working directory where uploads land before they are checked and promoted to the blob
 * store. Staged file names are recognisable (`*.staging`) so garbage collection can sweep
 * leftovers of a crash.
 */
export interface StagingArea {
  /**
   * Streams `source` into a new staging file, hashing as it goes, and starts its fsync (see
   * StagedFile.durable). Never buffers the whole upload. Throws AppError('IMAGE_TOO_LARGE') when
   * more than `maxBytes` arrive: past the limit nothing more is written, the rest of `source` is
   * read and discarded (so a multipart parser behind it can finish; callers cap the source) and
   * the partial file is removed.
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
