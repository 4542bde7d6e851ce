import { ERRORS, type RequestRelease } from '@tus/utils';
import { AppError } from '../../core/errors.js';

/** Longest pause between two attempts of a waiter that heard nothing (a missed or lost notice). */
const maxPauseMs = 250;

/**
 * The `requestRelease` callbacks of the locks this process holds, by upload id, so a release
 * request heard from another process (or this one) reaches the request holding the upload.
 */
export class HeldLocks {
  private readonly held = new Map<string, Set<HeldLock>>();

  add(id: string, lock: HeldLock): void {
    let locks = this.held.get(id);
    if (!locks) this.held.set(id, (locks = new Set()));
    locks.add(lock);
  }

  delete(id: string, lock: HeldLock): void {
    const locks = this.held.get(id);
    locks?.delete(lock);
    if (locks?.size === 0) this.held.delete(id);
  }

  /** Asks every local holder of `id` to release it. */
  requestRelease(id: string): void {
    for (const lock of this.held.get(id) ?? []) lock.askedToRelease();
  }

  all(): HeldLock[] {
    return [...this.held.values()].flatMap((locks) => [...locks]);
  }
}

/** One held lock's side of a release request. */
export class HeldLock {
  /** Set once someone asked for the upload: unlocking then tells waiters at once. */
  wanted = false;

  constructor(private readonly release: RequestRelease) {}

  askedToRelease(): void {
    this.wanted = true;
    // tus's callback cancels the holding request (after its drain delay); it cannot fail the
    // notice handler, whatever it does.
    Promise.resolve()
      .then(() => this.release())
      .catch(() => {});
  }
}

/** Wakes waiters for an upload when its holder says it unlocked. */
export class ReleaseNotices {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** A promise that resolves at the next notice for `id`; `cancel()` forgets it. */
  next(id: string): { notice: Promise<void>; cancel(): void } {
    let wake = () => {};
    const notice = new Promise<void>((resolve) => (wake = resolve));
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(wake);
    return {
      notice,
      cancel: () => {
        set.delete(wake);
        if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
      },
    };
  }

  /** The holder of `id` unlocked: every waiter tries again now. */
  released(id: string): void {
    const set = this.waiters.get(id);
    this.waiters.delete(id);
    for (const wake of set ?? []) wake();
  }
}

export interface AcquireSteps {
  /** One attempt; true when the caller now holds the lock. */
  tryAcquire(): Promise<boolean>;
  /** Tells the current holder, wherever it runs, that someone waits for the upload. */
  requestRelease(): Promise<void>;
}

/**
 * The waiting half of `Lock.lock` for the shared lockers, with MemoryLocker's semantics: try; on
 * failure ask the holder to release and try again when it says it unlocked (or after a short
 * pause, in case the notice was lost or the holder died), until `signal` aborts or `timeoutMs`
 * passes, which rejects with tus's `ERR_LOCK_TIMEOUT`.
 */
export async function acquireWithin(id: string, signal: AbortSignal, timeoutMs: number, notices: ReleaseNotices, steps: AcquireSteps): Promise<void> {
  const stop = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  let pauseMs = 5;
  for (;;) {
    if (stop.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
    // Listen before trying: an unlock between a failed try and the wait is not missed.
    const { notice, cancel } = notices.next(id);
    try {
      if (await steps.tryAcquire()) return;
      if (stop.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
      await steps.requestRelease();
      await waitFor(notice, pauseMs, stop);
    } finally {
      cancel();
    }
    pauseMs = Math.min(pauseMs * 2, maxPauseMs);
  }
}

/** Resolves at `notice`, after `ms`, or when `signal` aborts, whichever comes first. */
function waitFor(notice: Promise<void>, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    void notice.then(done);
  });
}

/** Where the shared lockers report trouble with their notice connection. */
export interface LockerLog {
  warn(object: object, message: string): void;
  info(message: string): void;
}

/** A failure of the lock's database or Redis: the upload cannot be served now (503), not a bug. */
export function unavailable(error: unknown): AppError {
  const failure = new AppError('STORAGE_UNAVAILABLE', 'Upload locks cannot be taken right now; retry later.');
  failure.cause = error;
  return failure;
}

/** Runs `operation`, reporting its failure as `unavailable`. */
export async function unavailableOnFailure<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw unavailable(error);
  }
}
