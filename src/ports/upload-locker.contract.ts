import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import { ERRORS, type Lock } from '@tus/utils';
import type { UploadLocker } from './upload-locker.js';

/** A process holding an upload's lock, for the crash test. */
export interface LockHoldingProcess {
  /** Resolves once the process has been asked to release the upload (it never does). */
  askedToRelease: Promise<void>;
  /** SIGKILLs it and waits until it is gone. */
  kill(): Promise<void>;
}

export interface UploadLockerFixture {
  /**
   * A locker as one server process has it (its own connections), on the backend every locker of
   * this fixture shares. In-process adapters may return the same locker each time.
   */
  open(options?: { acquireLockTimeoutMs?: number }): Promise<UploadLocker>;
  /** Starts another OS process that takes `id`'s lock and holds it; absent for in-process adapters. */
  holdInAnotherProcess?: (id: string) => Promise<LockHoldingProcess>;
  cleanup(): Promise<void>;
}

const never = new AbortController().signal;
const newId = () => randomBytes(16).toString('hex');

/** A lock taken with a requestRelease that records calls, resolving `asked` at the first. */
async function holding(locker: UploadLocker, id: string, onRequest?: (lock: Lock) => void) {
  const lock = locker.newLock(id);
  let resolveAsked = () => {};
  const asked = new Promise<void>((resolve) => (resolveAsked = resolve));
  let requests = 0;
  await lock.lock(never, () => {
    requests += 1;
    resolveAsked();
    onRequest?.(lock);
  });
  return { lock, asked, requests: () => requests };
}

/** Settles to 'acquired' or the rejection, and says meanwhile whether it has settled. */
function watch(promise: Promise<void>) {
  let settled = false;
  const outcome = promise.then(
    () => 'acquired' as const,
    (error: unknown) => error,
  );
  void outcome.finally(() => (settled = true));
  return { outcome, settled: () => settled };
}

/**
 * What every UploadLocker adapter must do, with the semantics @tus/server relies on (those of its
 * MemoryLocker): one holder per upload; a waiter asks the holder to release (`requestRelease`) and
 * gets the upload once it is unlocked; an aborted wait or the acquire timeout rejects with
 * `ERRORS.ERR_LOCK_TIMEOUT`; an unlock from a lock that does not hold the upload changes nothing.
 * Shared adapters also: two lockers (two processes) exclude each other, and a holder whose process
 * is killed frees the upload.
 */
export function uploadLockerContract(name: string, setup: () => Promise<UploadLockerFixture>): void {
  describe(`UploadLocker contract: ${name}`, () => {
    const run = (title: string, body: (fixture: UploadLockerFixture, t: TestContext) => Promise<void>) =>
      test(title, async (t) => {
        const fixture = await setup();
        try {
          await body(fixture, t);
        } finally {
          await fixture.cleanup();
        }
      });

    run('one holder at a time: a waiter asks the holder to release and gets the upload once it unlocks', async (fixture) => {
      const locker = await fixture.open();
      const id = newId();
      const holder = await holding(locker, id);
      const waiter = watch(locker.newLock(id).lock(never, () => {}));
      await holder.asked;
      assert.equal(waiter.settled(), false, 'the waiter got the upload while it was held');
      await holder.lock.unlock();
      assert.equal(await waiter.outcome, 'acquired');
    });

    run('a holder that unlocks when asked (as tus does) hands the upload over', async (fixture) => {
      const locker = await fixture.open();
      const id = newId();
      const holder = await holding(locker, id, (lock) => void lock.unlock());
      const next = locker.newLock(id);
      await next.lock(never, () => {});
      assert.ok(holder.requests() >= 1);
      await next.unlock();
      // Free again: a new lock takes it without asking anyone.
      const third = locker.newLock(id);
      await third.lock(never, () => assert.fail('nobody holds the upload'));
      await third.unlock();
    });

    run('different uploads do not exclude each other', async (fixture) => {
      const locker = await fixture.open();
      const a = await holding(locker, newId());
      const b = await holding(locker, newId());
      await a.lock.unlock();
      await b.lock.unlock();
      assert.equal(a.requests() + b.requests(), 0);
    });

    run('a wait whose signal aborts rejects with ERR_LOCK_TIMEOUT, and the holder keeps the upload', async (fixture) => {
      const locker = await fixture.open();
      const id = newId();
      const holder = await holding(locker, id);
      const abort = new AbortController();
      const waiter = watch(locker.newLock(id).lock(abort.signal, () => {}));
      await holder.asked;
      abort.abort();
      assert.equal(await waiter.outcome, ERRORS.ERR_LOCK_TIMEOUT);
      // A signal aborted before the call rejects too, held upload or free.
      await assert.rejects(
        locker.newLock(id).lock(abort.signal, () => {}),
        (error) => error === ERRORS.ERR_LOCK_TIMEOUT,
      );
      await assert.rejects(
        locker.newLock(newId()).lock(abort.signal, () => {}),
        (error) => error === ERRORS.ERR_LOCK_TIMEOUT,
      );
      // Still held: another waiter has to ask.
      const requestsBefore = holder.requests();
      const again = watch(locker.newLock(id).lock(never, () => {}));
      while (holder.requests() === requestsBefore) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(again.settled(), false);
      await holder.lock.unlock();
      assert.equal(await again.outcome, 'acquired');
    });

    run('the acquire timeout rejects with ERR_LOCK_TIMEOUT', async (fixture) => {
      const locker = await fixture.open({ acquireLockTimeoutMs: 150 });
      try {
        const id = newId();
        const holder = await holding(locker, id);
        await assert.rejects(
          locker.newLock(id).lock(never, () => {}),
          (error) => error === ERRORS.ERR_LOCK_TIMEOUT,
        );
        assert.ok(holder.requests() >= 1, 'the holder was never asked to release');
        await holder.lock.unlock();
      } finally {
        await locker.close();
      }
    });

    run('an unlock from a lock that does not hold the upload changes nothing', async (fixture) => {
      const locker = await fixture.open();
      const id = newId();
      const holder = await holding(locker, id);
      // Never locked; and one whose wait was aborted.
      await locker.newLock(id).unlock();
      const abort = new AbortController();
      abort.abort();
      const failed = locker.newLock(id);
      await assert.rejects(failed.lock(abort.signal, () => {}));
      await failed.unlock();
      const waiter = watch(locker.newLock(id).lock(never, () => {}));
      await holder.asked;
      assert.equal(waiter.settled(), false, 'a stranger unlock freed the upload');
      await holder.lock.unlock();
      // Unlocking twice is harmless too.
      await holder.lock.unlock();
      assert.equal(await waiter.outcome, 'acquired');
    });

    run('two lockers (two processes) never hold one upload at once', async (fixture) => {
      const lockers = [await fixture.open(), await fixture.open()];
      const id = newId();
      let inside = 0;
      let most = 0;
      let entries = 0;
      await Promise.all(
        Array.from({ length: 8 }, async (_, task) => {
          for (let round = 0; round < 3; round += 1) {
            const lock = lockers[task % 2]!.newLock(id);
            await lock.lock(never, () => {});
            inside += 1;
            entries += 1;
            most = Math.max(most, inside);
            await new Promise((resolve) => setImmediate(resolve));
            inside -= 1;
            await lock.unlock();
          }
        }),
      );
      assert.equal(entries, 24);
      assert.equal(most, 1);
    });

    run('a release request reaches the holder in the other locker (the other process)', async (fixture) => {
      const [first, second] = [await fixture.open(), await fixture.open()];
      const id = newId();
      const holder = await holding(first, id, (lock) => void lock.unlock());
      const lock = second.newLock(id);
      await lock.lock(never, () => {});
      assert.ok(holder.requests() >= 1);
      await lock.unlock();
    });

    run('a holder whose process is killed (SIGKILL) frees the upload', async (fixture, t) => {
      if (!fixture.holdInAnotherProcess) return t.skip('an in-process adapter: its locks die with the process');
      const locker = await fixture.open();
      const id = newId();
      const child = await fixture.holdInAnotherProcess(id);
      try {
        const waiter = watch(locker.newLock(id).lock(never, () => {}));
        // The request crosses processes, and the child, like a stuck client, does not let go.
        await child.askedToRelease;
        assert.equal(waiter.settled(), false, 'the waiter got an upload the child holds');
        await child.kill();
        assert.equal(await waiter.outcome, 'acquired');
      } finally {
        await child.kill();
      }
    });
  });
}
