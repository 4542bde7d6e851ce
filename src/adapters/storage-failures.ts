import { AppError } from '../core/errors.js';

/**
 * Operating-system and database failures that say "the storage cannot take this right now" rather
 * than "there is a bug", turned into the AppErrors the ports promise. Shared by every local-disk
 * adapter (staging, fs blob store, tus files) and the metadata dialects, so a full disk reads the
 * same whether the staging write, the blob link or the SQLite commit hit it first.
 */
const fullCodes = ['ENOSPC', 'EDQUOT', 'SQLITE_FULL', /* PostgreSQL disk_full */ '53100'];
/** Out of file descriptors, per process (EMFILE) or system-wide (ENFILE): load, not a bug. */
const busyCodes = ['EMFILE', 'ENFILE'];
/** The filesystem went read-only (ext4 remounts so after errors) or the device failed. */
const unavailableFsCodes = ['EROFS', 'EIO'];

/** The AppError `error` stands for, or undefined when it is none of the above. */
export function storageFailure(error: unknown): AppError | undefined {
  const code = codeOf(error);
  if (code === undefined) return undefined;
  if (fullCodes.some((full) => code === full || code.startsWith(`${full}_`))) {
    return withCause(new AppError('STORAGE_FULL', 'The server is out of storage space; nothing was stored. Retry later.'), error);
  }
  if (busyCodes.includes(code)) {
    return withCause(new AppError('SERVER_BUSY', 'The server cannot open more files right now; retry shortly.'), error);
  }
  if (unavailableFsCodes.includes(code)) {
    return withCause(new AppError('STORAGE_UNAVAILABLE', 'Storage cannot be written right now; retry later.'), error);
  }
  return undefined;
}

/** `error` translated by storageFailure, or unchanged (AppErrors and everything else pass through). */
export function asStorageFailure(error: unknown): unknown {
  if (error instanceof AppError) return error;
  return storageFailure(error) ?? error;
}

/** Runs `operation`, translating a storage failure it throws. */
export async function reportingStorageFailures<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw asStorageFailure(error);
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function withCause(appError: AppError, cause: unknown): AppError {
  // Kept for the log (the path, the errno); never sent to a client.
  appError.cause = cause;
  return appError;
}
