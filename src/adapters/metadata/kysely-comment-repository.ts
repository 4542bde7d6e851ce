import type { Kysely } from 'kysely';
import type { NewEvent } from '../../core/events/event.js';
import type { Comment, CommentView } from '../../core/posts/post.js';
import type { CommentRepository } from '../../ports/metadata-store.js';
import type { MetadataDialect } from './metadata-dialect.js';
import * as rows from './post-row-mapping.js';
import type { Database } from './schema.js';

/** Comments over Kysely; a post's comments are read newest first along `comments(post_id, id)`. */
export class KyselyCommentRepository implements CommentRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async insert(comment: Comment): Promise<void> {
    await this.db.insertInto('comments').values(rows.commentToRow(comment)).execute();
  }

  async add(comment: Comment, event: NewEvent): Promise<boolean> {
    return this.dialect.addComment(this.db, comment, event);
  }

  async findById(id: string): Promise<Comment | null> {
    const row = await this.db.selectFrom('comments').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? rows.commentFromRow(row) : null;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('comments').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async deleteByAuthor(authorId: string): Promise<{ postId: string; removed: number }[]> {
    const removed = await this.db.deleteFrom('comments').where('author_id', '=', authorId).returning('post_id').execute();
    const byPost = new Map<string, number>();
    for (const { post_id } of removed) byPost.set(post_id, (byPost.get(post_id) ?? 0) + 1);
    return [...byPost].map(([postId, count]) => ({ postId, removed: count }));
  }

  async listByPost(postId: string, after: string | null, limit: number): Promise<CommentView[]> {
    const found = await this.db
      .selectFrom('comments as c')
      .innerJoin('users as u', 'u.id', 'c.author_id')
      .selectAll('c')
      .select('u.username as author_username')
      .where('c.post_id', '=', postId)
      // Keyset, not offset: a page costs the same however deep it is.
      .$if(after !== null, (query) => query.where('c.id', '<', after as string))
      .orderBy('c.id', 'desc')
      .limit(limit)
      .execute();
    return found.map(rows.commentViewFromRow);
  }

  async newestOfPosts(postIds: readonly string[], perPost: number): Promise<CommentView[]> {
    if (postIds.length === 0) return [];
    const found = await this.dialect.newestComments(this.db, postIds, perPost);
    return found.map(rows.commentViewFromRow);
  }

  async countByPost(postId: string): Promise<number> {
    const row = await this.db
      .selectFrom('comments')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('post_id', '=', postId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}
