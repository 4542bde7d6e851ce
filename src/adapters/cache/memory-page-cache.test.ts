import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pageCacheContract } from '../../ports/page-cache.contract.js';
import { MemoryPageCache } from './memory-page-cache.js';

pageCacheContract('in-process LRU', async () => ({ cache: new MemoryPageCache(), cleanup: async () => {} }));

test('FEED_CACHE_BYTES=0: a cache of no memory stores nothing (and does not throw)', async () => {
  const cache = new MemoryPageCache(0);
  await cache.set('feed:1', 'page');
  assert.equal(await cache.get('feed:1'), undefined);
});
