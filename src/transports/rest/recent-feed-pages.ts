import { LRUCache } from 'lru-cache';
import type { FeedService, FeedSpan } from '../../core/posts/feed-service.js';

/** The last rendering of one feed page: its body, the version it was read at, the span it covers. */
interface Rendering {
  version: number;
  span: FeedSpan;
  body: string;
}

/**
 * The body last rendered for each feed page (limit and cursor), so that a new feed version whose
 * writes did not touch a page reuses its body instead of querying and serializing it again: a
 * comment moves one post, and the pages it did not move into, out of or within stay as they were
 * (FeedService.unchangedSince decides, exactly). Under a steady trickle of comments, the first
 * pages everybody reads were otherwise rendered again after every single one.
 */
export class RecentFeedPages {
  readonly #renderings: LRUCache<string, Rendering>;

  constructor(
    private readonly feed: Pick<FeedService, 'unchangedSince'>,
    /** How many bytes of bodies to keep (the least recently used pages go first). */
    maxBytes = 8 * 1024 * 1024,
  ) {
    this.#renderings = new LRUCache({ maxSize: maxBytes, sizeCalculation: (rendering) => Math.max(1, rendering.body.length) });
  }

  /** The body last rendered for `page` if it is still exact at `version`, else undefined. */
  reuse(page: string, version: number): string | undefined {
    const rendering = this.#renderings.get(page);
    if (rendering === undefined || version < rendering.version) return undefined;
    if (!this.feed.unchangedSince(rendering.span, rendering.version, version)) {
      this.#renderings.delete(page);
      return undefined;
    }
    // The moves up to `version` are checked: the next check starts from here.
    rendering.version = version;
    return rendering.body;
  }

  /** Remembers `body`, rendered for `page` from data read at feed `version` or later. */
  remember(page: string, version: number, span: FeedSpan, body: string): void {
    const known = this.#renderings.get(page);
    if (known !== undefined && known.version > version) return;
    this.#renderings.set(page, { version, span, body });
  }
}
