import { MemoryLocker } from '@tus/server';
import { ERRORS, type Lock, type RequestRelease } from '@tus/utils';
import type { UploadLocker } from '../../ports/upload-locker.js';

/**
 * @tus/server's MemoryLocker (one process: the embedded install), made to keep the port's promises
 * where MemoryLocker does not: its `unlock()` frees the upload whichever lock object calls it (a
 * lock that never acquired would free another request's), and an already aborted signal still
 * acquires a free upload.
 */
export class MemoryUploadLocker implements UploadLocker {
  private readonly locker: MemoryLocker;

  constructor(options: { acquireLockTimeoutMs?: number } = {}) {
    this.locker = new MemoryLocker(options.acquireLockTimeoutMs === undefined ? undefined : { acquireLockTimeout: options.acquireLockTimeoutMs });
  }

  newLock(id: string): Lock {
    const lock = this.locker.newLock(id);
    let held = false;
    return {
      async lock(signal: AbortSignal, requestRelease: RequestRelease) {
        if (signal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
        await lock.lock(signal, requestRelease);
        held = true;
      },
      async unlock() {
        if (!held) return;
        held = false;
        await lock.unlock();
      },
    };
  }

  async close(): Promise<void> {}
}
