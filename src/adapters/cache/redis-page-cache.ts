import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PageCache } from '../../ports/page-cache.js';

/** Where the Redis adapters report trouble: once when an outage starts, once when it ends. */
export type RedisLog = Pick<Logger, 'warn' | 'info'>;

export interface RedisConnectionOptions {
  /** Longest a command may take before it fails (default 250 ms): bounds what a stuck Redis costs a request. */
  commandTimeoutMs?: number;
  /** How long `connectRedis` waits for the first connection before it returns anyway (default 2 s). */
  readyTimeoutMs?: number;
}

/**
 * Opens the process's one Redis connection (the page cache and the rate-limit counters share it).
 * A down Redis never hangs a request: while disconnected, commands fail at once instead of being
 * queued (`enableOfflineQueue: false`), and a connected but stuck server fails them after
 * `commandTimeoutMs`. It reconnects forever in the background. Resolves once connected, or after
 * `readyTimeoutMs` with Redis still unreachable: the process then starts degraded rather than not
 * at all (the cache and the limits fail open, see docs/api.md).
 */
export async function connectRedis(url: string, log: RedisLog, options: RedisConnectionOptions = {}): Promise<Redis> {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs ?? 250,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // Back off to 2 s between attempts, never give up: a Redis that comes back heals the process.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  let down = false;
  // ioredis emits 'error' on every failed reconnect attempt; one line per outage is enough.
  client.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log.warn({ err: error }, 'Redis unreachable: feed pages render uncached and rate limits are not enforced until it is back');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    log.info('Redis connection restored');
  });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, options.readyTimeoutMs ?? 2_000);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return client;
}

/** Closes a connection from `connectRedis`: politely when connected, at once when not. */
export async function closeRedis(client: Redis): Promise<void> {
  try {
    await client.quit();
  } catch {
    // Not connected (quit is refused without the offline queue): just stop reconnecting.
    client.disconnect();
  }
}

export interface RedisPageCacheOptions {
  /** Prepended to every key, e.g. `imagegram:page:`; lets deployments share a server and be flushed alone. */
  keyPrefix: string;
  /** Lifetime of an entry in ms (default 1 h): memory stays bounded even without a Redis `maxmemory` policy. */
  ttlMs?: number;
  /** After a failure, how long to answer misses without asking Redis (default 1 s), so a stuck server costs one timeout, not one per request. */
  pauseAfterFailureMs?: number;
  log: RedisLog;
}

/**
 * PageCache in Redis, shared by every process of a deployment (exact across them: keys embed the
 * feed version from the database). Backend errors are logged once per outage and become misses.
 */
export class RedisPageCache implements PageCache {
  private readonly ttlMs: number;
  private readonly pauseMs: number;
  private failing = false;
  private pausedUntil = 0;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisPageCacheOptions,
  ) {
    this.ttlMs = options.ttlMs ?? 3_600_000;
    this.pauseMs = options.pauseAfterFailureMs ?? 1_000;
  }

  async get(key: string): Promise<string | undefined> {
    if (Date.now() < this.pausedUntil) return undefined;
    try {
      const value = await this.redis.get(this.options.keyPrefix + key);
      this.succeeded();
      return value ?? undefined;
    } catch (error) {
      this.failed(error);
      return undefined;
    }
  }

  async set(key: string, value: string): Promise<void> {
    if (Date.now() < this.pausedUntil) return;
    try {
      await this.redis.set(this.options.keyPrefix + key, value, 'PX', this.ttlMs);
      this.succeeded();
    } catch (error) {
      this.failed(error);
    }
  }

  private succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    this.options.log.info('Redis page cache available again');
  }

  private failed(error: unknown): void {
    this.pausedUntil = Date.now() + this.pauseMs;
    if (this.failing) return;
    this.failing = true;
    this.options.log.warn({ err: error }, 'Redis page cache failing: serving misses until it answers again');
  }
}
