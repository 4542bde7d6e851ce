import { LRUCache } from 'lru-cache';
import type { MetadataStore } from '../../ports/metadata-store.js';
import type { Repositories } from '../../ports/store-slice.js';
import { AppError } from '../errors.js';
import type { OpaqueCursor } from './opaque-cursor.js';
import type { FeedPosition, PostView } from './post.js';
import { assertPageLimit } from './post-rules.js';
import { RememberedFeedVersion } from './remembered-feed-version.js';

/** One page of the feed. */
export interface FeedPage {
  posts: PostView[];
  /** Opaque; null on the last page. */
  nextCursor: string | null;
  /** The stretch of the feed order the page covers, for telling later whether a move touched it. */
  span: FeedSpan;
}

/**
 * A stretch of the feed order: the places after `after` (null: from the top) up to `through`
 * included (null: to the end, so a post joining the end is in it).
 */
export interface FeedSpan {
  after: FeedPosition | null;
  through: FeedPosition | null;
}

/**
 * The feed: posts by commentCount desc, then newest first, paged by keyset. A cursor
 * remembers the last post's (commentCount, id); if counts change between two page requests a post
 * can move across that boundary and be seen twice or not at all — docs/api.md says so.
 */
export class FeedService {
  /**
   * Cursors of recently paged posts, by position. Readers mostly page the same first pages, so
   * the same cursors are signed over and over (one HMAC per edge, a few % of a GraphQL feed
   * request's CPU); a cursor depends only on the position and the secret, so a remembered one is
   * the same string.
   */
  private readonly recentCursors = new LRUCache<string, string>({ max: 10_000 });
  /**
   * The cursors of frozen posts, by object: a store may hand out the same frozen views for a page
   * that did not change (the PostgreSQL store does), which then cost a lookup without building a
   * key. Only frozen ones: a post that can change could carry another position later.
   */
  private readonly cursorsOfFrozen = new WeakMap<FeedPosition, string>();
  readonly #version: RememberedFeedVersion;

  constructor(
    private readonly store: Repositories<'posts' | 'feed'> & Pick<MetadataStore, 'feedChanges'>,
    private readonly cursors: OpaqueCursor,
    /** How long the feed version may be remembered between writes (default 0: read every time). */
    options: { versionMaxAgeMs?: number; now?: () => number } = {},
  ) {
    const { versionMaxAgeMs = 0, now } = options;
    this.#version = new RememberedFeedVersion(() => store.feed.version(), store.feedChanges, { maxAgeMs: versionMaxAgeMs, ...(now ? { now } : {}) });
  }

  /**
   * The feed version: changes with every committed post or comment write (for exact caching).
   * Remembered between writes when `versionMaxAgeMs` > 0 (see RememberedFeedVersion).
   */
  version(): Promise<number> {
    return this.#version.version();
  }

  /** Starts hearing feed changes; false if other processes are not heard within `withinMs` (see RememberedFeedVersion). */
  listenForChanges(withinMs: number): Promise<boolean> {
    return this.#version.listen(withinMs);
  }

  /** Stops listening for feed changes (call before the store closes). */
  close(): void {
    this.#version.close();
  }

  /** A page of up to `limit` (1–100) posts after `cursor`. Throws VALIDATION_FAILED, INVALID_CURSOR. */
  async page(cursor: string | null, limit: number): Promise<FeedPage> {
    assertPageLimit(limit);
    const after = cursor === null ? null : feedPosition(this.cursors.decode('feed', cursor));
    // One extra row tells whether another page exists without a count query.
    const posts = await this.store.posts.feedPage(after, limit + 1);
    const page = posts.slice(0, limit);
    const last = page.at(-1);
    const more = posts.length > limit && last !== undefined;
    const span = { after, through: more ? { commentCount: last.commentCount, id: last.id } : null };
    return { posts: page, nextCursor: more ? this.cursorOf(last) : null, span };
  }

  /**
   * Whether a page covering `span`, read at feed version `from`, is still exact at version `to`:
   * every bump in between is a move this process knows (see FeedChanges.movesBetween) and none
   * started or ended inside the span. A post that passes over the whole span leaves the same
   * posts in it; one that leaves, enters or moves within it changes the page. Any other bump
   * (a new post, a delete, an edit, another process's write) answers false.
   */
  unchangedSince(span: FeedSpan, from: number, to: number): boolean {
    if (to === from) return true;
    const moves = this.store.feedChanges.movesBetween?.(from, to);
    return moves?.every((move) => !within(span, move.from) && !within(span, move.to)) === true;
  }

  /** The cursor that continues the feed right after `post`. */
  cursorOf(post: FeedPosition): string {
    const frozen = Object.isFrozen(post);
    let cursor = frozen ? this.cursorsOfFrozen.get(post) : undefined;
    if (cursor !== undefined) return cursor;
    const key = `${post.commentCount}:${post.id}`;
    cursor = this.recentCursors.get(key);
    if (cursor === undefined) {
      cursor = this.cursors.encode('feed', [post.commentCount, post.id]);
      this.recentCursors.set(key, cursor);
    }
    if (frozen) this.cursorsOfFrozen.set(post, cursor);
    return cursor;
  }
}

/** Whether `position` lies in `span`: after its start, and not after its end. */
function within(span: FeedSpan, position: FeedPosition): boolean {
  return (span.after === null || comesAfter(position, span.after)) && (span.through === null || !comesAfter(position, span.through));
}

/**
 * Whether `a` comes after `b` in the feed: fewer comments, or as many and an older (smaller) id.
 * Ids are UUIDv7 text, plain ASCII, which JavaScript and the database's `id desc` order alike.
 */
function comesAfter(a: FeedPosition, b: FeedPosition): boolean {
  return a.commentCount < b.commentCount || (a.commentCount === b.commentCount && a.id < b.id);
}

function feedPosition(value: unknown): FeedPosition {
  if (!Array.isArray(value) || value.length !== 2 || !Number.isSafeInteger(value[0]) || value[0] < 0 || typeof value[1] !== 'string') {
    throw new AppError('INVALID_CURSOR');
  }
  return { commentCount: value[0] as number, id: value[1] as string };
}
