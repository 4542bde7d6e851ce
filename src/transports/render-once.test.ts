import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryPageCache } from '../adapters/cache/memory-page-cache.js';
import { RenderOnce } from './render-once.js';

test('concurrent misses for one key share a single render; later calls hit the cache', async () => {
  const pages = new RenderOnce(new MemoryPageCache());
  let renders = 0;
  const render = async () => {
    renders += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return `page ${renders}`;
  };
  const bodies = await Promise.all(Array.from({ length: 10 }, () => pages.get('feed:1:20:', render)));
  assert.deepEqual(new Set(bodies), new Set(['page 1']));
  assert.equal(await pages.get('feed:1:20:', render), 'page 1');
  assert.equal(renders, 1);
  assert.equal(await pages.get('feed:2:20:', render), 'page 2');
});

test('a failed render reaches every waiter and is not cached', async () => {
  const pages = new RenderOnce(new MemoryPageCache());
  const failing = async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    throw new Error('bad cursor');
  };
  const results = await Promise.allSettled([pages.get('k', failing), pages.get('k', failing)]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.equal(await pages.get('k', async () => 'fine'), 'fine');
});
