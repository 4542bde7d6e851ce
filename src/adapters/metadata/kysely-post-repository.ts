import type { AliasableExpression, Kysely, Selectable } from 'kysely';
import type { NewEvent } from '../../core/events/event.js';
import type { CommentView, FeedPosition, Post, PostView } from '../../core/posts/post.js';
import type { PostRepository } from '../../ports/metadata-store.js';
import { KyselyEventLog } from './kysely-event-log.js';
import { KyselyFeedState } from './kysely-feed-state.js';
import { writtenForLiveAccount } from './gone-account.js';
import type { MetadataDialect } from './metadata-dialect.js';
import * as rows from './post-row-mapping.js';
import type { Database, PostsTable } from './schema.js';

/** Every post in the feed carries its last 2 comments. */
const lastCommentsPerPost = 2;

/**
 * Posts over Kysely. A page of views costs two queries whatever its size: one for the posts with
 * their authors and images, one for the newest comments of all of them — or, for feed pages on a
 * dialect that offers `feedPage`, one.
 */
export class KyselyPostRepository implements PostRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async insert(post: Post): Promise<void> {
    await this.db.insertInto('posts').values(rows.postToRow(post)).execute();
  }

  async add(post: Post, event: NewEvent): Promise<boolean> {
    if (this.dialect.addPost) return this.dialect.addPost(this.db, post, event);
    // Portable: the same steps one statement at a time; the image row is read in the transaction,
    // so a foreign key that fails is the author's.
    const write = async (tx: Kysely<Database>): Promise<boolean> => {
      if (!(await tx.selectFrom('images').select('id').where('id', '=', post.imageId).executeTakeFirst())) return false;
      await writtenForLiveAccount(this.dialect, () => tx.insertInto('posts').values(rows.postToRow(post)).execute());
      await new KyselyFeedState(tx, this.dialect).bump();
      await new KyselyEventLog(tx, this.dialect).append(event);
      return true;
    };
    return this.db.isTransaction ? write(this.db) : this.db.transaction().execute(write);
  }

  async findById(id: string): Promise<Post | null> {
    const row = await this.db.selectFrom('posts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? rows.postFromRow(row) : null;
  }

  async findViews(ids: readonly string[]): Promise<PostView[]> {
    if (ids.length === 0) return [];
    const wanted = this.db.selectFrom('posts').selectAll().where(this.dialect.isIn('id', ids));
    const byId = new Map((await this.#views(wanted)).map((view) => [view.id, view]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  async feedPage(after: FeedPosition | null, limit: number): Promise<PostView[]> {
    if (this.dialect.feedPage) return this.dialect.feedPage(this.db, after, limit, lastCommentsPerPost);
    const page =
      after === null
        ? this.db.selectFrom('posts').selectAll().orderBy('comment_count', 'desc').orderBy('id', 'desc').limit(limit)
        : this.dialect.postsAfter(this.db, after, limit);
    return this.#views(page);
  }

  async listByAuthor(authorId: string, after: string | null, limit: number): Promise<PostView[]> {
    const page = this.db
      .selectFrom('posts')
      .selectAll()
      .where('author_id', '=', authorId)
      // Keyset along posts(author_id, id): a deep page costs the same as the first.
      .$if(after !== null, (query) => query.where('id', '<', after as string))
      .orderBy('id', 'desc')
      .limit(limit);
    return this.#views(page, 'newest');
  }

  async setCaption(id: string, caption: string): Promise<boolean> {
    const result = await this.db.updateTable('posts').set({ caption }).where('id', '=', id).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async deleteByAuthor(authorId: string): Promise<number> {
    // Their comments, anyone's, go by ON DELETE CASCADE in the same statement.
    const result = await this.db.deleteFrom('posts').where('author_id', '=', authorId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async delete(id: string): Promise<boolean> {
    // The comments go by ON DELETE CASCADE, in the same statement.
    const result = await this.db.deleteFrom('posts').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async adjustCommentCount(postId: string, delta: number): Promise<boolean> {
    // Relative, not read-modify-write: concurrent writers cannot lose each other's update.
    const result = await this.db
      .updateTable('posts')
      .set((eb) => ({ comment_count: eb('comment_count', '+', delta) }))
      .where('id', '=', postId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async countByImage(imageId: string): Promise<number> {
    const row = await this.db
      .selectFrom('posts')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('image_id', '=', imageId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async findByImage(imageId: string): Promise<Post[]> {
    const found = await this.db.selectFrom('posts').selectAll().where('image_id', '=', imageId).orderBy('id').execute();
    return found.map(rows.postFromRow);
  }

  /** The posts of `source` as views in feed order (or newest first): one query for them, one for their comments. */
  async #views(source: AliasableExpression<Selectable<PostsTable>>, order: 'feed' | 'newest' = 'feed'): Promise<PostView[]> {
    const found = await this.db
      .selectFrom(source.as('p'))
      .innerJoin('users as u', 'u.id', 'p.author_id')
      .innerJoin('images as i', 'i.id', 'p.image_id')
      .selectAll('p')
      .select(['u.username as author_username', 'i.sha256 as image_sha256', 'i.width as image_width', 'i.height as image_height'])
      .$if(order === 'feed', (query) => query.orderBy('p.comment_count', 'desc'))
      .orderBy('p.id', 'desc')
      .execute();
    if (found.length === 0) return [];
    const postIds = found.map((row) => row.id);
    const comments = await this.dialect.newestComments(this.db, postIds, lastCommentsPerPost);
    const byPost = new Map<string, CommentView[]>(postIds.map((id) => [id, []]));
    // Rows come newest first, so each post's list is too.
    for (const row of comments) byPost.get(row.post_id)?.push(rows.commentViewFromRow(row));
    return found.map((row) => rows.postViewFromRow(row, byPost.get(row.id) ?? []));
  }
}
