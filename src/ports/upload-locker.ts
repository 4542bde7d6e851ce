/**
 * The lock tus takes on an upload around every request that reads or writes it (HEAD, PATCH,
 * DELETE), and that `UploadFiles.remove` takes before deleting the bytes. It has the shape of
 * `@tus/utils`'s `Locker` (written out here: the ports import no library), so @tus/server uses
 * it directly:
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
export interface UploadLocker {
  /** A handle on one upload's lock; holding it is per handle, not per process. */
  newLock(id: string): UploadLock;
  /** Stops listening for release requests and closes connections; locks still held are given up. */
  close(): Promise<void>;
}

/** Called on the holder when another request wants the upload: stop and unlock soon. */
export type RequestRelease = () => Promise<void> | void;

/** One upload's lock, as `@tus/utils`'s `Lock`. */
export interface UploadLock {
  lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void>;
  unlock(): Promise<void>;
}
