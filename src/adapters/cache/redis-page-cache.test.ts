import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { connectTestRedis, deleteKeysUnder, testRedisUrl, throwawayKeyPrefix } from '../../../test/support/redis.js';
import { pageCacheContract } from '../../ports/page-cache.contract.js';
import { closeRedis, connectRedis, RedisPageCache, type RedisLog } from './redis-page-cache.js';

/** Records what the adapter logs, to check it reports an outage once, not once per request. */
function recordingLog() {
  const lines: { level: 'warn' | 'info'; message: string }[] = [];
  const record = (level: 'warn' | 'info') => (first: unknown, second?: unknown) => {
    lines.push({ level, message: String(typeof first === 'string' ? first : second) });
  };
  return { lines, log: { warn: record('warn'), info: record('info') } as unknown as RedisLog };
}

// Probe once: null means unreachable and not required (TEST_REDIS_URL unset), so skip.
const url = await testRedisUrl();

if (url === null) {
  test('PageCache contract: Redis', { skip: 'Redis not reachable' }, () => {});
} else {
  pageCacheContract('Redis', async () => {
    const keyPrefix = throwawayKeyPrefix();
    const redis = await connectRedis(url, recordingLog().log);
    return {
      cache: new RedisPageCache(redis, { keyPrefix, log: recordingLog().log }),
      async cleanup() {
        await deleteKeysUnder(redis, keyPrefix);
        await closeRedis(redis);
      },
    };
  });
}

describe('RedisPageCache beyond the contract', { skip: url === null && 'Redis not reachable' }, () => {
  test('entries live under the key prefix and expire after their TTL', async () => {
    const keyPrefix = throwawayKeyPrefix();
    const redis = await connectRedis(url!, recordingLog().log);
    const raw = await connectTestRedis(url!);
    try {
      const cache = new RedisPageCache(redis, { keyPrefix, ttlMs: 150, log: recordingLog().log });
      await cache.set('feed:7:20:', '{"posts":[]}');
      assert.equal(await raw.get(`${keyPrefix}feed:7:20:`), '{"posts":[]}');
      const ttl = await raw.pttl(`${keyPrefix}feed:7:20:`);
      assert.ok(ttl > 0 && ttl <= 150, `PTTL ${ttl}`);
      assert.equal(await cache.get('feed:7:20:'), '{"posts":[]}');
      await sleep(250);
      assert.equal(await cache.get('feed:7:20:'), undefined);
      assert.equal(await raw.exists(`${keyPrefix}feed:7:20:`), 0);
    } finally {
      await deleteKeysUnder(raw, keyPrefix);
      raw.disconnect();
      await closeRedis(redis);
    }
  });

  test('an unreachable Redis gives misses at once, never throws, and is logged once', async () => {
    const port = await closedPort();
    const { lines, log } = recordingLog();
    const started = Date.now();
    const redis = await connectRedis(`redis://127.0.0.1:${port}`, log, { readyTimeoutMs: 300 });
    assert.ok(Date.now() - started < 2_000, 'connectRedis returns even though Redis is down');
    try {
      const cache = new RedisPageCache(redis, { keyPrefix: throwawayKeyPrefix(), log, pauseAfterFailureMs: 0 });
      for (let i = 0; i < 20; i++) {
        const before = Date.now();
        await cache.set(`k${i}`, 'v');
        assert.equal(await cache.get(`k${i}`), undefined);
        assert.ok(Date.now() - before < 100, `request ${i} took ${Date.now() - before} ms`);
      }
      const warnings = lines.filter((line) => line.level === 'warn').map((line) => line.message);
      assert.equal(warnings.filter((m) => m.includes('page cache')).length, 1, warnings.join('\n'));
      assert.equal(warnings.filter((m) => m.includes('unreachable')).length, 1, warnings.join('\n'));
    } finally {
      await closeRedis(redis);
    }
  });
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
