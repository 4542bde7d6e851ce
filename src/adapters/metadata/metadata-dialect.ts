import type { AliasableExpression, ColumnDefinitionBuilder, CompiledQuery, Expression, Kysely, Logger, Selectable, SelectQueryBuilder, SqlBool } from 'kysely';
import type { NewEvent } from '../../core/events/event.js';
import type { Comment, FeedPosition, Post, PostView } from '../../core/posts/post.js';
import type { GroupCommitLimits } from './group-commit.js';
import type { CommentViewRow } from './post-row-mapping.js';
import type { Database, PostsTable } from './schema.js';

/**
 * Everything that differs between SQLite and PostgreSQL, as typed capabilities (the idea of
 * Kysely's own `DialectAdapter.supportsReturning`). The SQL itself is written once; only
 * `sqlite.ts` and `postgres.ts` implement this interface.
 */
export interface MetadataDialect {
  readonly name: 'sqlite' | 'postgres';
  /** Column type of `events.position`. */
  readonly identityType: 'integer' | 'bigint';
  /** Makes a column an ever-increasing primary key whose values are never reused. */
  identityColumn(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /**
   * True when `error` means the database cannot be reached or is too busy right now (worth a
   * retry later, reported as STORAGE_UNAVAILABLE) rather than a bug in a query.
   */
  isUnavailable(error: unknown): boolean;
  /**
   * `query … FOR UPDATE` (with `SKIP LOCKED` when asked) where the database locks rows
   * (PostgreSQL); SQLite's writers are serialised by BEGIN IMMEDIATE, so there it is unchanged.
   * Call only inside a transaction.
   */
  lockRows<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>, options: { skipLocked: boolean }): SelectQueryBuilder<DB, TB, O>;
  /** True when `error` is a foreign-key violation (a row still referenced elsewhere). */
  isForeignKeyViolation(error: unknown): boolean;
  /**
   * Called inside the transaction that appends events, before the insert. Together with
   * `eventHorizon` it keeps the log gap-free for readers paging with `list(after)`: positions
   * may commit out of order, but no reader may see a position before every smaller one that will
   * ever commit has committed.
   */
  beforeEventAppend(tx: Kysely<Database>): Promise<void>;
  /**
   * The highest position a reader may return now: every event at or below it has either
   * committed (and is visible to statements started after this call) or never will. Null when
   * positions already become visible in order (a single writer).
   */
  eventHorizon(db: Kysely<Database>): Promise<number | null>;
  /**
   * `column IN (ids)` with ONE bound parameter however many ids: no parameter limit to chunk
   * around, and one statement text for every list length.
   */
  isIn(column: string, ids: readonly string[]): Expression<SqlBool>;
  /**
   * The next `limit` posts strictly after `after` in feed order (comment_count desc, id desc),
   * in that order, as a subquery to join authors and images onto. Must be index range scans:
   * the feed pages 100k posts.
   */
  postsAfter(db: Kysely<Database>, after: FeedPosition, limit: number): AliasableExpression<Selectable<PostsTable>>;
  /**
   * When the database can do it better: a whole feed page (as `PostRepository.feedPage`) in ONE
   * statement — posts, authors, images and the newest comments with their authors. Absent: the
   * repository's portable two queries.
   */
  feedPage?(db: Kysely<Database>, after: FeedPosition | null, limit: number, commentsPerPost: number): Promise<PostView[]>;
  /**
   * `CommentRepository.add`: the post's count up (false if there is no such post), the comment,
   * a feed bump and the event, in one transaction (`db`'s, or its own). PostgreSQL does it in ONE
   * statement, so no lock is held across round trips; SQLite in four statements built once, as
   * they run for every comment.
   */
  addComment(db: Kysely<Database>, comment: Comment, event: NewEvent): Promise<boolean>;
  /** When the database can do it better: `PostRepository.add` (post, feed bump, event) in ONE statement. */
  addPost?(db: Kysely<Database>, post: Post, event: NewEvent): Promise<boolean>;
  /**
   * Where the database keeps prepared statements per connection: `query` marked to run as the
   * prepared statement `name` (parsed and planned once per connection). Its text must never
   * change. Absent: run as given.
   */
  preparedStatement?<Row>(name: string, query: CompiledQuery<Row>): CompiledQuery<Row>;
  /**
   * The newest `perPost` comments of each post in `postIds` (newest first) with their authors'
   * usernames, in ONE query that reads only those comments, however many a post has.
   */
  newestComments(db: Kysely<Database>, postIds: readonly string[], perPost: number): Promise<CommentViewRow[]>;
  /**
   * How concurrent `transaction()` calls share commits: null runs each in its own transaction
   * (a server with real concurrent connections); limits batch them into one commit each
   * (one writer connection paying an fsync per commit).
   */
  readonly groupCommit: GroupCommitLimits | null;
}

/** Reads the `code` property drivers put on their errors (better-sqlite3, pg, node:net). */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** Kysely's `log` option reporting every statement's SQL (failed ones too) to `onQuery`. */
export function logQueriesTo(onQuery: ((sql: string) => void) | undefined): Logger | undefined {
  return onQuery && ((event) => onQuery(event.query.sql));
}
