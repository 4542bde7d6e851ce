import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PageCache } from './page-cache.js';

/** The behaviour every PageCache adapter must show. */
export function pageCacheContract(name: string, open: () => Promise<{ cache: PageCache; cleanup(): Promise<void> }>): void {
  describe(`PageCache contract: ${name}`, () => {
    test('returns what was set, and undefined for unknown keys', async () => {
      const { cache, cleanup } = await open();
      try {
        await cache.set('feed:1:a', '{"posts":[]}');
        assert.equal(await cache.get('feed:1:a'), '{"posts":[]}');
        assert.equal(await cache.get('feed:2:a'), undefined);
        await cache.set('feed:1:a', '{"posts":[1]}');
        assert.equal(await cache.get('feed:1:a'), '{"posts":[1]}');
      } finally {
        await cleanup();
      }
    });

    test('keeps unicode intact', async () => {
      const { cache, cleanup } = await open();
      try {
        await cache.set('k', 'café 📷 ✓');
        assert.equal(await cache.get('k'), 'café 📷 ✓');
      } finally {
        await cleanup();
      }
    });
  });
}
