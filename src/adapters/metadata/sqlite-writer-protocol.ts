/** The messages between the store and its writer thread (sqlite-writer-thread.ts). */

/** One statement to run; `id` pairs it with its reply. */
export interface StatementRequest {
  id: number;
  sql: string;
  parameters: readonly unknown[];
  /**
   * Nobody waits for this one's reply (none is sent): if it fails, the thread skips every later
   * statement up to the next awaited one, which fails with this error.
   */
  deferred?: true;
}

/** Asks the thread to close the database (which checkpoints the WAL) and exit. */
export interface CloseRequest {
  id: number;
  close: true;
}

export type WriterRequest = StatementRequest | CloseRequest;

/** A driver error as it crosses threads: the fields the dialect reads (`code`) survive. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export type WriterReply =
  | {
      id: number;
      rows: unknown[];
      numAffectedRows?: bigint;
      insertId?: bigint;
      /** Set when a row holds a BLOB, which arrives as a Uint8Array and must become a Buffer again. */
      blobs?: true;
    }
  | { id: number; error: SerializedError };

/** What the thread says once after starting: the database is open, or why it is not. */
export type WriterReady = { ready: true } | { ready: false; error: SerializedError };

/** The thread's `workerData`. */
export interface WriterThreadData {
  file: string;
}

/** `error` reduced to what survives postMessage and matters to the caller. */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}), ...(error.stack ? { stack: error.stack } : {}) };
}

/** An Error again, carrying the original's code, name and (the thread's) stack. */
export function deserializeError(serialized: SerializedError): Error {
  const error = new Error(serialized.message) as Error & { code?: string };
  error.name = serialized.name;
  if (serialized.code !== undefined) error.code = serialized.code;
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return error;
}

/**
 * `value` with every Uint8Array turned back into a Buffer (postMessage's structured clone makes
 * Buffers plain Uint8Arrays; better-sqlite3 and the code reading rows expect Buffers).
 */
export function withBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return value;
}
