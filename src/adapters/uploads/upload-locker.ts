import type { Redis } from 'ioredis';
import type { UploadLocker } from '../../ports/upload-locker.js';
import type { LockerLog } from './lock-waiting.js';
import { MemoryUploadLocker } from './memory-upload-locker.js';

export interface UploadLockerOptions {
  /** The metadata store's URL: a `postgres://` one puts the locks in that database. */
  databaseUrl: string;
  /** The process's Redis connection when `REDIS_URL` is set, else null. */
  redis: Redis | null;
  /** Prefix of the Redis keys and channels of the locks. */
  redisKeyPrefix: string;
  log: LockerLog;
}

/**
 * Opens the lock tus takes on an upload around each HEAD, PATCH and DELETE (and that removing an
 * upload takes), where every server process sharing the upload bytes sees it:
 *
 * - PostgreSQL metadata store: advisory locks in that database, the source of truth every process
 *   already shares; a dead process's locks are freed at once.
 * - else, with Redis configured: keys in Redis, renewed while held; a dead process's locks expire
 *   after 10 s.
 * - else (SQLite: one process, the embedded install): in memory.
 *
 * Release requests (tus asking the holder of an upload to stop for a newer request) reach the
 * holder in whichever process it runs. `close()` the locker at shutdown, after the HTTP server.
 */
export async function openUploadLocker(options: UploadLockerOptions): Promise<UploadLocker> {
  if (/^postgres(ql)?:\/\//.test(options.databaseUrl)) {
    // Lazy, like the metadata store: an embedded install never loads the PostgreSQL driver.
    const { PostgresUploadLocker } = await import('./postgres-upload-locker.js');
    return PostgresUploadLocker.open(options.databaseUrl, { log: options.log });
  }
  if (options.redis) {
    const { RedisUploadLocker } = await import('./redis-upload-locker.js');
    return RedisUploadLocker.open(options.redis, { keyPrefix: options.redisKeyPrefix, log: options.log });
  }
  return new MemoryUploadLocker();
}
