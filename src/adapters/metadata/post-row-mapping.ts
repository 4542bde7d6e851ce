import type { Selectable } from 'kysely';
import type { IdempotencyRecord } from '../../core/idempotency/idempotency-record.js';
import type { Comment, CommentView, Post, PostView } from '../../core/posts/post.js';
import type { CommentsTable, IdempotencyKeysTable, PostsTable } from './schema.js';

/** Posts, comments and idempotency keys: rows to domain objects and back (see row-mapping.ts). */

/** A post row joined with its author's username and its image's shape, as the feed reads it. */
export interface PostViewRow extends Selectable<PostsTable> {
  author_username: string;
  image_sha256: string;
  image_width: number;
  image_height: number;
}

/** A comment row joined with its author's username. */
export interface CommentViewRow extends Selectable<CommentsTable> {
  author_username: string;
}

export function postToRow(post: Post): PostsTable {
  return {
    id: post.id,
    author_id: post.authorId,
    image_id: post.imageId,
    caption: post.caption,
    created_at: post.createdAt,
    comment_count: post.commentCount,
  };
}

export function postFromRow(row: Selectable<PostsTable>): Post {
  return {
    id: row.id,
    authorId: row.author_id,
    imageId: row.image_id,
    caption: row.caption,
    createdAt: row.created_at,
    commentCount: row.comment_count,
  };
}

export function postViewFromRow(row: PostViewRow, lastComments: CommentView[]): PostView {
  return {
    ...postFromRow(row),
    author: { id: row.author_id, username: row.author_username },
    image: {
      id: row.image_id,
      sha256: row.image_sha256,
      width: row.image_width,
      height: row.image_height,
    },
    lastComments,
  };
}

export function commentToRow(comment: Comment): CommentsTable {
  return {
    id: comment.id,
    post_id: comment.postId,
    author_id: comment.authorId,
    body: comment.body,
    created_at: comment.createdAt,
  };
}

export function commentFromRow(row: Selectable<CommentsTable>): Comment {
  return {
    id: row.id,
    postId: row.post_id,
    authorId: row.author_id,
    body: row.body,
    createdAt: row.created_at,
  };
}

export function commentViewFromRow(row: CommentViewRow): CommentView {
  return { ...commentFromRow(row), author: { id: row.author_id, username: row.author_username } };
}

export function idempotencyToRow(record: IdempotencyRecord): IdempotencyKeysTable {
  return {
    user_id: record.userId,
    key: record.key,
    fingerprint: record.fingerprint,
    result: record.result,
    created_at: record.createdAt,
    lease_until: record.leaseUntil,
    expires_at: record.expiresAt,
  };
}

export function idempotencyFromRow(row: Selectable<IdempotencyKeysTable>): IdempotencyRecord {
  return {
    userId: row.user_id,
    key: row.key,
    fingerprint: row.fingerprint,
    result: row.result,
    createdAt: row.created_at,
    leaseUntil: row.lease_until,
    expiresAt: row.expires_at,
  };
}
