import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { redactUrl } from './redact-url.js';

const defaultUrl = 'redis://127.0.0.1:6379';
let warnedUnreachable = false;

/**
 * The URL of the Redis server for tests: `TEST_REDIS_URL`, or the local dev server by default.
 * Returns null, after one loud line on stderr, when the default server is unreachable. When
 * `TEST_REDIS_URL` is set an unreachable server throws instead: CI must never silently skip.
 */
export async function testRedisUrl(): Promise<string | null> {
  const requiredUrl = process.env.TEST_REDIS_URL || undefined;
  const url = requiredUrl ?? defaultUrl;
  try {
    const client = await connectTestRedis(url);
    client.disconnect();
    return url;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (requiredUrl !== undefined) throw new Error(`TEST_REDIS_URL (${redactUrl(url)}) is not reachable: ${reason}`, { cause: error });
    if (!warnedUnreachable) {
      warnedUnreachable = true;
      process.stderr.write(`!!! Redis not reachable at ${redactUrl(url)} (${reason}): skipping Redis runs (set TEST_REDIS_URL to require them)\n`);
    }
    return null;
  }
}

/** A key prefix no other test (or run) uses, so tests can share one server and clean up after themselves. */
export function throwawayKeyPrefix(): string {
  return `imagegram-test:${randomBytes(6).toString('hex')}:`;
}

/** A plain client for a test's own reads and cleanup; rejects if the server does not answer PING within 3 s. */
export async function connectTestRedis(url: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // The socket's error (ECONNREFUSED…) says more than the rejected connect ("Connection is closed").
  let socketError: Error | undefined;
  client.on('error', (error: Error) => {
    socketError ??= error;
  });
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch (error) {
    client.disconnect();
    throw socketError ?? error;
  }
}

/** Deletes every key under `prefix`. Returns how many. */
export async function deleteKeysUnder(client: Redis, prefix: string): Promise<number> {
  const keys = await keysUnder(client, prefix);
  let deleted = 0;
  for (let i = 0; i < keys.length; i += 500) deleted += await client.del(...keys.slice(i, i + 500));
  return deleted;
}

/** Every key under `prefix` (SCAN, not KEYS: a shared server is never blocked). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}
