import type { Locker } from '@tus/utils';

/**
 * The lock tus takes on an upload around every request that reads or writes it (HEAD, PATCH,
 * DELETE), and that `UploadFiles.remove` takes before deleting the bytes. It is `@tus/utils`'s
 * `Locker`, unchanged, so @tus/server uses it directly:
 *
 * - `newLock(id).lock(signal, requestRelease)` resolves once the caller holds the upload. While
 *   another request holds it, that holder's `requestRelease` is called (tus then cancels the
 *   holder's request after its drain delay, which unlocks), and the caller keeps trying. It rejects
 *   with `ERRORS.ERR_LOCK_TIMEOUT` when `signal` aborts or the locker's acquire timeout passes first.
 * - `unlock()` gives the upload back; from a lock that does not hold it, it does nothing.
 *
 * Adapters: in-process memory (one server process), PostgreSQL advisory locks and Redis keys (any
 * number of processes on one database or Redis).
 */
export interface UploadLocker extends Locker {
  /** Stops listening for release requests and closes connections; locks still held are given up. */
  close(): Promise<void>;
}
