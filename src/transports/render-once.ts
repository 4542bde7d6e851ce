import type { PageCache } from '../ports/page-cache.js';

/**
 * A page cache front that renders each key at most once at a time: concurrent misses for the same
 * key wait for the one render in progress instead of each querying and serializing the page
 * (bench: a burst after a write rendered the same page ~3× more often than needed). Joining is as
 * exact as a cache hit — the key embeds the version every caller read before asking.
 */
export class RenderOnce {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(private readonly cache: PageCache) {}

  /** The cached value under `key`, else the result of `render` (stored for the next caller). */
  async get(key: string, render: () => Promise<string>): Promise<string> {
    const cached = await this.cache.get(key);
    if (cached !== undefined) return cached;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.renderAndStore(key, render);
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async renderAndStore(key: string, render: () => Promise<string>): Promise<string> {
    try {
      const body = await render();
      await this.cache.set(key, body);
      return body;
    } finally {
      this.inFlight.delete(key);
    }
  }
}
