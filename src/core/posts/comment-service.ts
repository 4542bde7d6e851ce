import type { StoreSlice } from '../../ports/store-slice.js';
import { AppError } from '../errors.js';
import type { User } from '../users/user.js';
import type { OpaqueCursor } from './opaque-cursor.js';
import type { Comment, CommentView } from './post.js';
import { assertPageLimit } from './post-rules.js';

/** A page of a post's comments, newest first. */
export interface CommentPage {
  comments: CommentView[];
  nextCursor: string | null;
}

/**
 * Reading and deleting comments: counts stay exact because every change adjusts commentCount in its
 * own transaction. Adding one is the AddComment command.
 */
export class CommentService {
  constructor(
    private readonly store: StoreSlice<'comments' | 'posts' | 'feed' | 'events'>,
    private readonly cursors: OpaqueCursor,
  ) {}

  /** Deletes the actor's own comment. Throws COMMENT_NOT_FOUND (absent, gone, or under another post), NOT_OWNER. */
  async delete(actor: User, postId: string, commentId: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      const comment = await tx.comments.findById(commentId);
      if (!comment || comment.postId !== postId) throw new AppError('COMMENT_NOT_FOUND', `No comment ${commentId} on post ${postId}`);
      if (comment.authorId !== actor.id) throw new AppError('NOT_OWNER', 'Only the author may delete this comment');
      // A concurrent delete may have won between the read and here: then this one is a 404.
      if (!(await tx.comments.delete(commentId))) throw new AppError('COMMENT_NOT_FOUND', `No comment ${commentId} on post ${postId}`);
      await tx.posts.adjustCommentCount(postId, -1);
      await tx.feed.bump();
      await tx.events.append({ type: 'CommentDeleted', actorId: actor.id, subjectId: commentId, payload: { postId } });
    });
  }

  /** All comments of a post, newest first, in pages. Throws POST_NOT_FOUND, INVALID_CURSOR. */
  async list(postId: string, cursor: string | null, limit: number): Promise<CommentPage> {
    assertPageLimit(limit);
    const afterId = cursor === null ? null : commentPosition(this.cursors.decode('comments', cursor), postId);
    if (!(await this.store.posts.findById(postId))) throw new AppError('POST_NOT_FOUND', `No post with id ${postId}`);
    const page = await this.store.comments.listByPost(postId, afterId, limit + 1);
    const comments = page.slice(0, limit);
    const last = comments.at(-1);
    const nextCursor = page.length > limit && last ? this.cursorOf(last) : null;
    return { comments, nextCursor };
  }

  /**
   * The first page of each post's comments (as `list` with no cursor would give), for many posts
   * in one query. Posts that do not exist get an empty page. Throws VALIDATION_FAILED.
   */
  async firstPages(postIds: readonly string[], limit: number): Promise<Map<string, CommentPage>> {
    assertPageLimit(limit);
    const byPost = new Map<string, CommentView[]>(postIds.map((id) => [id, []]));
    for (const comment of await this.store.comments.newestOfPosts(postIds, limit + 1)) byPost.get(comment.postId)?.push(comment);
    return new Map(
      [...byPost].map(([postId, found]) => {
        const comments = found.slice(0, limit);
        const last = comments.at(-1);
        return [postId, { comments, nextCursor: found.length > limit && last ? this.cursorOf(last) : null }];
      }),
    );
  }

  /** The cursor that continues a post's comments right after `comment`. */
  cursorOf(comment: Pick<Comment, 'postId' | 'id'>): string {
    return this.cursors.encode('comments', { postId: comment.postId, id: comment.id });
  }
}

/** The comment id a comments cursor points after; it must belong to the same post. */
function commentPosition(value: unknown, postId: string): string {
  const position = value as { postId?: unknown; id?: unknown } | null;
  if (typeof position?.id !== 'string' || position.postId !== postId) throw new AppError('INVALID_CURSOR', 'The cursor belongs to another post');
  return position.id;
}
