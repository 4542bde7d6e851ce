import { LRUCache } from 'lru-cache';
import type { PageCache } from '../../ports/page-cache.js';

/** PageCache in this process's memory, bounded by total string length; `0` bytes caches nothing. */
export class MemoryPageCache implements PageCache {
  // lru-cache refuses a maxSize of 0, so "no memory" is no cache at all.
  private readonly entries: LRUCache<string, string> | null;

  /** `maxBytes`: rough bound on memory held (string lengths summed); 0 turns caching off. */
  constructor(maxBytes = 64 * 1024 * 1024) {
    this.entries = maxBytes > 0 ? new LRUCache({ maxSize: maxBytes, sizeCalculation: (value, key) => value.length + key.length }) : null;
  }

  async get(key: string): Promise<string | undefined> {
    return this.entries?.get(key);
  }

  async set(key: string, value: string): Promise<void> {
    this.entries?.set(key, value);
  }
}
