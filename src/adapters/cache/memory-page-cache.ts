import { LRUCache } from 'lru-cache';
import type { PageCache } from '../../ports/page-cache.js';

/** PageCache in this process's memory, bounded by total string length. */
export class MemoryPageCache implements PageCache {
  private readonly entries: LRUCache<string, string>;

  /** `maxBytes`: rough bound on memory held (string lengths summed). */
  constructor(maxBytes = 64 * 1024 * 1024) {
    this.entries = new LRUCache({ maxSize: maxBytes, sizeCalculation: (value, key) => value.length + key.length });
  }

  async get(key: string): Promise<string | undefined> {
    return this.entries.get(key);
  }

  async set(key: string, value: string): Promise<void> {
    this.entries.set(key, value);
  }
}
