/**
 * The feed page's cost below HTTP, in this process on the run's database: how many statements a
 * page runs (constant whatever its size) and how long a cache miss takes — the version
 * read, the page's two queries, presenting and serializing, exactly what `GET /posts` does when
 * the page cache misses.
 */
import type { KyselyMetadataStore } from '../../src/adapters/metadata/kysely-metadata-store.js';
import { FeedService } from '../../src/core/posts/feed-service.js';
import { OpaqueCursor } from '../../src/core/posts/opaque-cursor.js';
import { presentPost } from '../../src/transports/rest/presenters.js';
import { median, percentile } from '../stats.js';

/** One page shape's figures. */
export interface PageCost {
  page: string;
  limit: number;
  /** Statements per page, the feed version read included. */
  queries: number;
  /** In-process ms per cache-miss page: median and p90 over `repeats`. */
  medianMs: number;
  p90Ms: number;
}

/** Measures the first page and page 4 (three cursors in), at limit 20 and 100. */
export async function feedPageCosts(openStore: (onQuery: (sql: string) => void) => KyselyMetadataStore, repeats = 30): Promise<PageCost[]> {
  let queries = 0;
  const store = openStore(() => void queries++);
  try {
    const feed = new FeedService(store, new OpaqueCursor('feed-bench-cursor-secret-0123456789'));
    const missPath = async (cursor: string | null, limit: number): Promise<string | null> => {
      await feed.version();
      const page = await feed.page(cursor, limit);
      JSON.stringify({ posts: page.posts.map(presentPost), nextCursor: page.nextCursor });
      return page.nextCursor;
    };
    const costs: PageCost[] = [];
    for (const limit of [20, 100]) {
      let cursor: string | null = null;
      for (let page = 1; page < 4; page++) cursor = await missPath(cursor, limit);
      for (const [label, start] of [
        ['first page', null],
        ['page 4 (keyset cursor)', cursor],
      ] as const) {
        queries = 0;
        await missPath(start, limit);
        const perPage = queries;
        const times: number[] = [];
        for (let n = 0; n < repeats; n++) {
          const began = performance.now();
          await missPath(start, limit);
          times.push(performance.now() - began);
        }
        costs.push({ page: label, limit, queries: perPage, medianMs: median(times), p90Ms: percentile(times, 90) });
      }
    }
    return costs;
  } finally {
    await store.close();
  }
}
