import { LRUCache } from 'lru-cache';
import type { FeedService, FeedSpan } from '../core/posts/feed-service.js';

/** The last rendering of one feed answer: the version it was read at and the spans it covers. */
interface Rendering {
  version: number;
  spans: readonly FeedSpan[];
  body: string;
}

/**
 * The body last rendered for each feed answer (a REST page, a GraphQL feed query), so that a new
 * feed version whose writes did not touch it reuses the body instead of querying and serializing
 * again: a comment moves one post, and the pages it did not move into, out of or within stay as
 * they were (FeedService.unchangedSince decides, exactly). Under a steady trickle of comments, the
 * first pages everybody reads were otherwise rendered again after every single one. Only for
 * answers made of the posts of their pages alone (and their authors, images and comments).
 */
export class RecentFeedPages {
  readonly #renderings: LRUCache<string, Rendering>;

  constructor(
    private readonly feed: Pick<FeedService, 'unchangedSince'>,
    /** How many bytes of bodies to keep (the least recently used answers go first). */
    maxBytes = 8 * 1024 * 1024,
  ) {
    this.#renderings = new LRUCache({ maxSize: maxBytes, sizeCalculation: (rendering) => Math.max(1, rendering.body.length) });
  }

  /** The body last rendered for `answer` if it is still exact at `version`, else undefined. */
  reuse(answer: string, version: number): string | undefined {
    const rendering = this.#renderings.get(answer);
    if (rendering === undefined || version < rendering.version) return undefined;
    const { spans } = rendering;
    if (!spans.every((span) => this.feed.unchangedSince(span, rendering.version, version))) {
      this.#renderings.delete(answer);
      return undefined;
    }
    // The moves up to `version` are checked: the next check starts from here.
    rendering.version = version;
    return rendering.body;
  }

  /** Remembers `body`, rendered for `answer` from the pages `spans` read at feed `version` or later. */
  remember(answer: string, version: number, spans: readonly FeedSpan[], body: string): void {
    const known = this.#renderings.get(answer);
    if (known !== undefined && known.version > version) return;
    this.#renderings.set(answer, { version, spans, body });
  }
}
