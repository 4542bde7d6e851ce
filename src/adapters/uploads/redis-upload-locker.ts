import { randomBytes } from 'node:crypto';
import type { Lock, RequestRelease } from '@tus/utils';
import type { Redis } from 'ioredis';
import type { UploadLocker } from '../../ports/upload-locker.js';
import { acquireWithin, HeldLock, HeldLocks, type LockerLog, ReleaseNotices, unavailable, unavailableOnFailure } from './lock-waiting.js';

export interface RedisUploadLockerOptions {
  /** Prefix of the lock keys and channels (`upload-lock:…` below it), as for every key we write. */
  keyPrefix: string;
  /** How long a lock outlives its holder's last renewal: a dead process's locks free after it (default 10 s). */
  ttlMs?: number;
  /** Longest `lock()` waits before ERR_LOCK_TIMEOUT (default 30 s, as @tus/server's MemoryLocker). */
  acquireLockTimeoutMs?: number;
  log?: LockerLog;
}

// Token-checked: a holder whose key expired (and was taken by another) never frees or extends the new holder's.
const unlockScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";
const renewScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";

/**
 * Upload locks shared by every process on one Redis: `SET <prefix>upload-lock:<id> <token> NX PX
 * <ttl>`, renewed every third of the TTL while held and deleted on unlock only by the token's
 * owner (Lua). A process that dies stops renewing, and its locks expire after the TTL.
 *
 * Release requests travel over pub/sub, naming the upload: a waiter that fails to take the lock
 * publishes one, and whichever process holds the upload calls its holder's `requestRelease` (tus
 * cancels that request, which unlocks). A holder that was asked publishes when it unlocks, so
 * waiters retry at once. A holder that cannot renew (its key is gone, or Redis stayed unreachable
 * for a whole TTL) is asked to release too: it no longer holds the upload.
 */
export class RedisUploadLocker implements UploadLocker {
  private readonly held = new HeldLocks();
  private readonly notices = new ReleaseNotices();
  private readonly renewals = new Set<() => void>();
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly requests: string;
  private readonly releases: string;
  private subscription: Promise<void> | null = null;

  private constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly options: RedisUploadLockerOptions,
  ) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.timeoutMs = options.acquireLockTimeoutMs ?? 30_000;
    this.requests = `${options.keyPrefix}upload-lock:requests`;
    this.releases = `${options.keyPrefix}upload-lock:released`;
  }

  /**
   * Takes commands on `redis` (the process's connection; not closed here) and subscribes to the
   * notices on a connection of its own, waiting for the subscription so requests are heard from
   * the first lock on.
   */
  static async open(redis: Redis, options: RedisUploadLockerOptions): Promise<RedisUploadLocker> {
    // A subscribed connection takes no other commands; it queues while disconnected and
    // resubscribes by itself after a reconnect.
    const subscriber = redis.duplicate({ enableOfflineQueue: true, lazyConnect: true });
    subscriber.on('error', () => {});
    const locker = new RedisUploadLocker(redis, subscriber, options);
    subscriber.on('message', (channel: string, id: string) => {
      if (channel === locker.requests) locker.held.requestRelease(id);
      else if (channel === locker.releases) locker.notices.released(id);
    });
    // Redis down at start-up does not stop the process (the page cache and rate limits fail open
    // too): every lock() subscribes first, so uploads answer 503 until Redis is back.
    await locker.subscribed().catch((error: unknown) => {
      options.log?.warn({ err: error }, 'Redis is unreachable: resumable uploads answer 503 until it is back');
    });
    return locker;
  }

  /** Resolves once release notices are heard; rejects (STORAGE_UNAVAILABLE) when Redis cannot be reached. */
  private subscribed(): Promise<void> {
    this.subscription ??= (async () => {
      if (this.subscriber.status === 'wait' || this.subscriber.status === 'end') await this.subscriber.connect();
      await this.subscriber.subscribe(this.requests, this.releases);
    })().catch((error: unknown) => {
      this.subscription = null;
      // A failed connect leaves the connection retrying on its own; start afresh next time.
      this.subscriber.disconnect();
      throw unavailable(error);
    });
    return this.subscription;
  }

  newLock(id: string): Lock {
    const key = `${this.options.keyPrefix}upload-lock:${id}`;
    const token = randomBytes(16).toString('hex');
    let holder: HeldLock | null = null;
    let stopRenewing = () => {};
    return {
      lock: async (signal: AbortSignal, requestRelease: RequestRelease) => {
        await this.subscribed();
        await acquireWithin(id, signal, this.timeoutMs, this.notices, {
          tryAcquire: async () => {
            const set = await unavailableOnFailure(() => this.redis.set(key, token, 'PX', this.ttlMs, 'NX'));
            if (set !== 'OK') return false;
            const lock = new HeldLock(requestRelease);
            holder = lock;
            this.held.add(id, lock);
            stopRenewing = this.renew(key, token, lock);
            return true;
          },
          requestRelease: () => unavailableOnFailure(async () => void (await this.redis.publish(this.requests, id))),
        });
      },
      unlock: async () => {
        const lock = holder;
        if (!lock) return;
        holder = null;
        stopRenewing();
        this.held.delete(id, lock);
        // A failure leaves the key to expire after the TTL: the upload is free again then.
        await this.redis.eval(unlockScript, 1, key, token).catch(() => {});
        if (lock.wanted) await this.redis.publish(this.releases, id).catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    for (const stop of this.renewals) stop();
    // Their keys expire after the TTL; a request still writing was told to stop.
    for (const lock of this.held.all()) lock.askedToRelease();
    this.subscriber.disconnect();
  }

  /** Extends the key every third of the TTL until stopped; tells the holder when the lock is lost. */
  private renew(key: string, token: string, lock: HeldLock): () => void {
    let confirmedAt = Date.now();
    const timer = setInterval(
      () => {
        this.redis.eval(renewScript, 1, key, token, this.ttlMs).then(
          (renewed) => {
            if (renewed === 1) confirmedAt = Date.now();
            else lost('the lock expired before it was renewed');
          },
          (error: unknown) => {
            if (Date.now() - confirmedAt >= this.ttlMs) lost('Redis was unreachable for longer than the lock lasts', error);
          },
        );
      },
      Math.max(1, Math.floor(this.ttlMs / 3)),
    );
    const stop = () => {
      clearInterval(timer);
      this.renewals.delete(stop);
    };
    const lost = (why: string, error?: unknown) => {
      stop();
      this.options.log?.warn({ key, err: error }, `upload lock lost: ${why}; stopping its request`);
      lock.askedToRelease();
    };
    this.renewals.add(stop);
    return stop;
  }
}
