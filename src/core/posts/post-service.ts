import type { StoreSlice } from '../../ports/store-slice.js';
import { AppError } from '../errors.js';
import type { User } from '../users/user.js';
import type { OpaqueCursor } from './opaque-cursor.js';
import type { Post, PostView } from './post.js';
import { assertPageLimit, assertValidCaption } from './post-rules.js';

/** One page of a user's posts. */
export interface AuthorPage {
  posts: PostView[];
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

/**
 * Reading, listing, editing and deleting posts; ownership rules live here so REST and GraphQL
 * agree. Creating one is the CreatePost command.
 */
export class PostService {
  constructor(
    private readonly store: StoreSlice<'posts' | 'feed' | 'events'>,
    private readonly cursors: OpaqueCursor,
  ) {}

  /** One post with its author, image and last 2 comments. Throws POST_NOT_FOUND. */
  async get(id: string): Promise<PostView> {
    const [view] = await this.store.posts.findViews([id]);
    if (!view) throw new AppError('POST_NOT_FOUND', `No post with id ${id}`);
    return view;
  }

  /** The posts with those ids as views, in that order, missing ones left out; a constant number of queries. */
  getMany(ids: readonly string[]): Promise<PostView[]> {
    return this.store.posts.findViews(ids);
  }

  /**
   * The author's posts, newest first, in pages of `limit` (1–100). Throws VALIDATION_FAILED,
   * INVALID_CURSOR (also for another listing's cursor, the feed's or another author's).
   */
  async listByAuthor(authorId: string, cursor: string | null, limit: number): Promise<AuthorPage> {
    assertPageLimit(limit);
    const after = cursor === null ? null : authorPosition(this.cursors.decode('author-posts', cursor), authorId);
    const found = await this.store.posts.listByAuthor(authorId, after, limit + 1);
    const posts = found.slice(0, limit);
    const last = posts.at(-1);
    return { posts, nextCursor: found.length > limit && last ? this.authorCursorOf(last) : null };
  }

  /** The cursor that continues its author's listing right after `post`. */
  authorCursorOf(post: Pick<Post, 'id' | 'authorId'>): string {
    return this.cursors.encode('author-posts', { authorId: post.authorId, id: post.id });
  }

  /** Replaces the caption of the actor's post; the feed shows it at once. Throws VALIDATION_FAILED, POST_NOT_FOUND, NOT_OWNER. */
  async editCaption(id: string, actor: User, caption: string): Promise<PostView> {
    assertValidCaption(caption);
    await this.store.transaction(async (tx) => {
      const post = await tx.posts.findById(id);
      if (!post) throw new AppError('POST_NOT_FOUND', `No post with id ${id}`);
      if (post.authorId !== actor.id) throw new AppError('NOT_OWNER', 'Only the author may edit this post');
      if (!(await tx.posts.setCaption(id, caption))) throw new AppError('POST_NOT_FOUND', `No post with id ${id}`);
      // Feed pages carry captions: the version keys their cache.
      await tx.feed.bump();
      await tx.events.append({ type: 'PostEdited', actorId: actor.id, subjectId: id, payload: {} });
    });
    return this.get(id);
  }

  /** Deletes the author's post and its comments. Throws POST_NOT_FOUND, NOT_OWNER. */
  async delete(id: string, actor: User): Promise<void> {
    await this.store.transaction(async (tx) => {
      const post = await tx.posts.findById(id);
      if (!post) throw new AppError('POST_NOT_FOUND', `No post with id ${id}`);
      if (post.authorId !== actor.id) throw new AppError('NOT_OWNER', 'Only the author may delete this post');
      if (!(await tx.posts.delete(id))) throw new AppError('POST_NOT_FOUND', `No post with id ${id}`);
      await tx.feed.bump();
      await tx.events.append({ type: 'PostDeleted', actorId: actor.id, subjectId: id, payload: { commentCount: post.commentCount } });
    });
  }
}

/** The post id a cursor of `authorId`'s listing continues after. Throws INVALID_CURSOR. */
function authorPosition(value: unknown, authorId: string): string {
  const position = value as { authorId?: unknown; id?: unknown } | null;
  if (typeof position?.id !== 'string' || position.authorId !== authorId) throw new AppError('INVALID_CURSOR', 'The cursor belongs to another listing');
  return position.id;
}
