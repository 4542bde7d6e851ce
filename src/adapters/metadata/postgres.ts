import { type CompiledQuery, Kysely, PostgresDialect, type RawBuilder, type SqlBool, sql } from 'kysely';
import pg from 'pg';
import { KyselyMetadataStore } from './kysely-metadata-store.js';
import { PostgresFeedChanges, type PostgresFeedChangesOptions } from './postgres-feed-changes.js';
import type { NewEvent } from '../../core/events/event.js';
import type { Comment, FeedPosition, Post, PostView } from '../../core/posts/post.js';
import { pageLimitMax } from '../../core/posts/post-rules.js';
import { feedVersionBuckets } from './feed-version-buckets-migration.js';
import { errorCode, logQueriesTo, type MetadataDialect } from './metadata-dialect.js';
import { compiledOnce } from './compiled-once.js';
import { ParsedPages } from './parsed-pages.js';
import { accountGone, writtenForLiveAccount } from './gone-account.js';
import { eventToRow } from './row-mapping.js';
import type { Database } from './schema.js';
import { reportingUnavailableStorage } from './storage-unavailable-dialect.js';

export interface PostgresMetadataStoreOptions {
  /** Most connections in the pool (default 10). */
  max?: number;
  /** Called with the SQL of every statement the store runs (Kysely's `log`), e.g. to count them. */
  onQuery?: (sql: string) => void;
  /** How processes hear of each other's feed writes (LISTEN/NOTIFY channel, reconnect pause). */
  feedChanges?: PostgresFeedChangesOptions;
}

/**
 * Opens the scale-out metadata store on a PostgreSQL database (`postgres://…`). Connections are
 * made lazily, so an unreachable server surfaces as STORAGE_UNAVAILABLE from the first call.
 */
export function openPostgresMetadataStore(url: string, opts: PostgresMetadataStoreOptions = {}): KyselyMetadataStore {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    // pg waits forever for a connection by default; a down server must fail fast instead.
    connectionTimeoutMillis: 5_000,
    // The port promises a resolved transaction is durable. A server or role configured with
    // synchronous_commit=off acknowledges commits before the WAL is flushed, losing the last
    // ones on a crash (https://www.postgresql.org/docs/15/wal-async-commit.html): pin it.
    options: '-c synchronous_commit=on',
    types: { getTypeParser },
  });
  // Statements registered by namedStatement() go out named: each connection parses and plans
  // them once, then only binds and executes (https://node-postgres.com/features/queries#prepared-statements).
  pool.on('connect', runNamedStatementsPrepared);
  // An idle client whose server went away emits 'error' on the pool; unhandled, that event
  // would crash the process (https://node-postgres.com/apis/pool#error). The next query
  // simply gets a fresh connection, or STORAGE_UNAVAILABLE.
  pool.on('error', () => {});
  const db = new Kysely<Database>({
    dialect: reportingUnavailableStorage(new PostgresDialect({ pool }), postgresDialect.isUnavailable),
    log: logQueriesTo(opts.onQuery),
  });
  return new KyselyMetadataStore(db, postgresDialect, new PostgresFeedChanges(url, pool, opts.feedChanges));
}

/** Statement text → name, for the few hot statements worth preparing on every connection. */
const statementNames = new Map<string, string>();
const statementTexts = new Map<string, string>();

/**
 * Registers `query` to run as the named prepared statement `name` on every connection of every
 * PostgreSQL store. Its text must be the same whatever its parameters.
 */
function namedStatement<R>(name: string, query: CompiledQuery<R>): CompiledQuery<R> {
  const known = statementTexts.get(name);
  if (known === undefined) {
    statementTexts.set(name, query.sql);
    statementNames.set(query.sql, name);
  } else if (known !== query.sql) {
    throw new Error(`statement ${name} changed its text`);
  }
  return query;
}

/** Makes `client.query(text, values)` (what Kysely calls) use a named statement for registered texts. */
function runNamedStatementsPrepared(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((text: unknown, ...rest: unknown[]) => {
    const name = typeof text === 'string' ? statementNames.get(text) : undefined;
    return name === undefined ? query(text, ...rest) : query({ name, text, values: rest[0] }, ...rest.slice(1));
  }) as typeof client.query;
}

/**
 * Most posts a feed statement reads: a page of the most the core allows plus the one that tells
 * whether another page follows. A literal, so the plan PostgreSQL caches for the prepared
 * statement (generic: it cannot see the parameters) still expects a short index range scan.
 */
const feedRowsCeiling = pageLimitMax + 1;

/**
 * A post of a feed page, positional: id, author_id, image_id, caption, created_at, comment_count,
 * the author's username, [image sha256, width, height], and the newest comments (null for none).
 */
type FeedRow = [string, string, string, string, number, number, string, [string, number, number], FeedComment[] | null];
/** A comment of a feed row: id, author_id, body, created_at, the author's username. */
type FeedComment = [string, string, string, number, string];

/**
 * A feed page in ONE statement, as one JSON array of posts in feed order, each with its author's
 * name, its image and its newest comments. Authors, images and each post's newest comments are
 * correlated subqueries, i.e. index lookups per post whatever the planner guesses for the
 * parameters (joins get hash joins over whole tables); the comments are a LIMIT-ed scan of
 * comments_post_id_id (a window over the page would number every comment of a popular post).
 * Positional arrays, not an object per post, author, image and comment: PostgreSQL 15's
 * json_build_object looks up every argument's type on every call, which made the statement cost
 * ~1.4× the backend CPU of this one, and the keys doubled the text to send and parse (BENCHMARKS.md,
 * "The GraphQL feed, executed, vs PostGraphile 5"). Two statements, not one with an optional
 * condition, so each keeps its index range plan; prepared once per connection, then planned once
 * (generic) and only executed.
 */
async function feedPage(db: Kysely<Database>, after: FeedPosition | null, limit: number, commentsPerPost: number): Promise<PostView[]> {
  // Only the usual statements are prepared, and built once (their text is the same whatever the
  // values); a larger limit (never asked by the core) is built, compiled and run unnamed.
  if (limit > feedRowsCeiling) {
    const result = await db.executeQuery(feedPageQuery(after, limit, commentsPerPost, limit).compile(db));
    return feedViewsOf(result.rows[0]?.page ?? '[]');
  }
  const statement =
    after === null
      ? namedStatement('imagegram_feed_first_page', firstFeedPageStatement(db, limit, commentsPerPost))
      : namedStatement('imagegram_feed_page_after', feedPageAfterStatement(db, after.commentCount, after.id, limit, commentsPerPost));
  const result = await db.executeQuery(statement);
  const key = after === null ? `${limit}:${commentsPerPost}` : `${limit}:${commentsPerPost}:${after.commentCount}:${after.id}`;
  return recentFeedPages.valueOf(key, result.rows[0]?.page ?? '[]');
}

function feedViewsOf(text: string): PostView[] {
  return (JSON.parse(text) as FeedRow[]).map(postViewOf);
}

/**
 * The views of recently read feed pages, by their text: readers mostly ask for the same first
 * pages, which PostgreSQL returns unchanged until a post or comment write (see ParsedPages).
 */
const recentFeedPages = new ParsedPages(feedViewsOf);

const firstFeedPageStatement = compiledOnce((limit: number, commentsPerPost: number) => feedPageQuery(null, limit, commentsPerPost, feedRowsCeiling));

const feedPageAfterStatement = compiledOnce((commentCount: number, id: string, limit: number, commentsPerPost: number) =>
  feedPageQuery({ commentCount, id }, limit, commentsPerPost, feedRowsCeiling),
);

/** The feed statement (see feedPage); `ceiling`, the most posts it reads, is a literal. */
function feedPageQuery(after: FeedPosition | null, limit: number, commentsPerPost: number, ceiling: number) {
  const rows = sql.lit(ceiling);
  const posts =
    after === null
      ? sql`select * from posts order by comment_count desc, id desc limit ${rows}`
      : sql`select * from posts where (comment_count, id) < (${after.commentCount}::integer, ${after.id}::text)
          order by comment_count desc, id desc limit ${rows}`;
  // As text (json's own form, no conversion): parsed here, and only when it changed (ParsedPages).
  return sql<{ page: string }>`select coalesce(json_agg(json_build_array(
      p.id, p.author_id, p.image_id, p.caption, p.created_at, p.comment_count,
      (select u.username from users u where u.id = p.author_id),
      (select json_build_array(i.sha256, i.width, i.height) from images i where i.id = p.image_id),
      (select json_agg(json_build_array(c.id, c.author_id, c.body, c.created_at, (select cu.username from users cu where cu.id = c.author_id)) order by c.id desc)
        from (select * from comments where post_id = p.id order by id desc limit ${commentsPerPost}) c)
    ) order by p.comment_count desc, p.id desc), '[]'::json)::text as page
    from (select * from (${posts}) feed limit ${limit}) p`;
}

function postViewOf([id, authorId, imageId, caption, createdAt, commentCount, username, [sha256, width, height], comments]: FeedRow): PostView {
  return {
    id,
    authorId,
    imageId,
    caption,
    createdAt,
    commentCount,
    author: { id: authorId, username },
    image: { id: imageId, sha256, width, height },
    lastComments: (comments ?? []).map(([commentId, commentAuthorId, body, commentCreatedAt, commentUsername]) => ({
      id: commentId,
      postId: id,
      authorId: commentAuthorId,
      body,
      createdAt: commentCreatedAt,
      author: { id: commentAuthorId, username: commentUsername },
    })),
  };
}

/**
 * `CommentRepository.add` and `PostRepository.add` as ONE statement each: outside a transaction it
 * is its own, one round trip whose locks (the post or image row, one feed counter) are held only
 * for the commit, not across the round trips of BEGIN … COMMIT (the statement is feedBumpTail
 * after a `head` of CTEs). `written` (the CTEs of `head`, the last named `written`) yields one row when the row was written; each later step reads the
 * previous one's rows, which fixes their order: the post/image row is locked before a feed counter
 * (as every other writer does, so no deadlock), nothing more runs when nothing was written, and the
 * appender's announcement (see beforeEventAppend) is taken per row before the insert draws that
 * row's position. The counter is picked as in KyselyFeedState.bump: any one not held by an
 * in-flight writer, searched from a random one. Built and compiled once (compiledOnce): each call
 * only binds values.
 */
async function writeWithFeedBump(db: Kysely<Database>, name: string, statement: CompiledQuery<{ added: number }>): Promise<boolean> {
  const result = await db.executeQuery(namedStatement(name, statement));
  return (result.rows[0]?.added ?? 0) > 0;
}

/** The event row's columns, in the order feedBumpTail binds them. */
type EventValues = [type: string, actorId: string | null, subjectId: string | null, at: number, payload: string | null];

/** The first feed counter to try (see writeWithFeedBump) and the event's columns, as values to bind. */
function feedBumpValues(event: NewEvent): [start: number, ...EventValues] {
  const row = eventToRow(event, Date.now());
  return [Math.floor(Math.random() * feedVersionBuckets), row.type, row.actor_id, row.subject_id, row.at, row.payload];
}

/** The statement of writeWithFeedBump after `head`: the counter bump and the event append. */
function feedBumpTail(head: RawBuilder<unknown>, start: number, ...[type, actorId, subjectId, at, payload]: EventValues): RawBuilder<{ added: number }> {
  const buckets = sql.lit(feedVersionBuckets);
  return sql<{ added: number }>`
    with ${head}, picked as (
      select coalesce(free.bucket, ${start}::int) as bucket
      from written left join lateral (
        select f.bucket from feed_versions f where written.id is not null
        order by (f.bucket + ${buckets} - ${start}::int) % ${buckets} limit 1
        for update skip locked
      ) free on true
    ), bumped as (
      update feed_versions set version = version + 1 where bucket = (select bucket from picked) returning bucket
    ), appended as (
      insert into events (type, actor_id, subject_id, at, payload)
      select ${type}, ${actorId}, ${subjectId}, ${at}::int8, ${payload}
      from bumped cross join lateral (
        select pg_advisory_xact_lock_shared(${appenderLockBase} + coalesce(pg_sequence_last_value(${positionSequence}), 0))
        where bumped.bucket is not null
      ) announced
      returning position
    )
    select count(*)::int4 as added from appended`;
}

/** See writeWithFeedBump: the post's count goes up first, which also proves it exists and locks it. */
const addCommentStatement = compiledOnce(
  (postId: string, id: string, authorId: string, body: string, createdAt: number, start: number, ...event: EventValues) =>
    feedBumpTail(
      sql`counted as (
        update posts set comment_count = comment_count + 1 where id = ${postId} returning id
      ), written as (
        insert into comments (id, post_id, author_id, body, created_at)
        select ${id}, counted.id, ${authorId}, ${body}, ${createdAt}::int8 from counted
        returning id
      )`,
      start,
      ...event,
    ),
);

function addComment(db: Kysely<Database>, comment: Comment, event: NewEvent): Promise<boolean> {
  const statement = addCommentStatement(db, comment.postId, comment.id, comment.authorId, comment.body, comment.createdAt, ...feedBumpValues(event));
  // The post row is locked by the count: a foreign key that fails is the author's.
  return writtenForLiveAccount(postgresDialect, () => writeWithFeedBump(db, 'imagegram_add_comment', statement));
}

/** See writeWithFeedBump: the post is inserted only while its image exists (a deleted one: false). */
const addPostStatement = compiledOnce(
  (id: string, authorId: string, imageId: string, caption: string, createdAt: number, commentCount: number, start: number, ...event: EventValues) =>
    feedBumpTail(
      sql`written as (
        insert into posts (id, author_id, image_id, caption, created_at, comment_count)
        select ${id}, ${authorId}, i.id, ${caption}, ${createdAt}::int8, ${commentCount}::int4
        from images i where i.id = ${imageId}
        returning id
      )`,
      start,
      ...event,
    ),
);

async function addPost(db: Kysely<Database>, post: Post, event: NewEvent): Promise<boolean> {
  const statement = addPostStatement(db, post.id, post.authorId, post.imageId, post.caption, post.createdAt, post.commentCount, ...feedBumpValues(event));
  try {
    return await writeWithFeedBump(db, 'imagegram_add_post', statement);
  } catch (error) {
    if (!postgresDialect.isForeignKeyViolation(error)) throw error;
    // The image was deleted after this statement's snapshot: its foreign key check fails.
    if (constraintOf(error) === 'posts_image_id_fkey') return false;
    // Otherwise it is the author's: the account was deleted after the request's session check.
    throw accountGone();
  }
}

/** The constraint a PostgreSQL error names (pg's `constraint` field), if any. */
function constraintOf(error: unknown): string | undefined {
  const constraint = typeof error === 'object' && error !== null && 'constraint' in error ? error.constraint : undefined;
  return typeof constraint === 'string' ? constraint : undefined;
}

// int8 (bigint, count(*)) arrives as a string because it may exceed 2^53; our epoch-ms values
// and counts never do, so parse it to a number for this pool only (not pg's global registry).
const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
  oid === pg.types.builtins.INT8 && format !== 'binary'
    ? (value: string) => Number(value)
    : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser;

const unavailableNetCodes = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'];
// SQLSTATE: 57P01–57P03 shutdown / cannot connect now, 53300 too many connections
// (https://www.postgresql.org/docs/15/errcodes-appendix.html).
const unavailableSqlStates = ['57P01', '57P02', '57P03', '53300'];
// pg raises these without a code when a connection dies or cannot be obtained in time.
const unavailableMessage = /Connection terminated|timeout exceeded when trying to connect|not queryable|timed out/i;

// Appenders announce themselves with a shared advisory lock on this key plus a lower bound of the
// positions they will take. 2^62 upwards is far from Kysely's migration lock (about 3.85e18) and
// leaves 2^56 positions, read back from pg_locks as (classid << 32 | objid) with objsubid 1
// (https://www.postgresql.org/docs/15/view-pg-locks.html).
const appenderLockBase = sql.raw('4611686018427387904::int8');
// The identity column's sequence (PostgreSQL names it table_column_seq). It must not cache
// values (identity columns default to CACHE 1): each nextval is then above last_value as read before.
const positionSequence = sql.raw("'events_position_seq'::regclass");

/** The PostgreSQL half of the dialect differences; its twin is `sqliteDialect` in sqlite.ts. */
export const postgresDialect: MetadataDialect = {
  name: 'postgres',
  identityType: 'bigint',
  identityColumn: (column) => column.primaryKey().generatedAlwaysAsIdentity(),
  // SQLSTATE 23503 foreign_key_violation.
  isForeignKeyViolation: (error) => errorCode(error) === '23503',
  // SKIP LOCKED lets several workers take different jobs instead of queueing on the same rows
  // (https://www.postgresql.org/docs/15/sql-select.html#SQL-FOR-UPDATE-SHARE).
  lockRows: (query, { skipLocked }) => (skipLocked ? query.forUpdate().skipLocked() : query.forUpdate()),
  isUnavailable(error) {
    const code = errorCode(error);
    if (code !== undefined) {
      // Class 08: connection exceptions.
      if (unavailableNetCodes.includes(code) || unavailableSqlStates.includes(code)) return true;
      if (code.startsWith('08')) return true;
    }
    return error instanceof Error && unavailableMessage.test(error.message);
  },
  // Positions come from a sequence at insert time but become visible at commit, so concurrent
  // appenders commit out of order; they must not wait for each other (a lock held until commit
  // made every post and comment commit, WAL flush included, one at a time). Instead each appender
  // first takes a shared, transaction-scoped advisory lock whose key carries the sequence's
  // last value L0: every position it then takes is > L0, and the lock is released only after
  // its commit became visible (or it rolled back). A reader reads, in this order, (1) the
  // sequence's last value L, (2) the smallest L0 among held appender locks M, and returns only
  // positions <= min(L, M) read by (3) a later statement. Any such position p was handed out
  // before (1), so its appender had locked before (2): if still in flight at (2), M <= its L0 < p,
  // a contradiction; so it had finished before (2) and is visible to (3) unless rolled back.
  // (Filtering on the appenders' transaction ids below pg_snapshot_xmin alone is not enough: a
  // transaction with an older id can take a later position and commit first.)
  async beforeEventAppend(tx) {
    await sql`select pg_advisory_xact_lock_shared(${appenderLockBase} + coalesce(pg_sequence_last_value(${positionSequence}), 0))`.execute(tx);
  },
  async eventHorizon(db) {
    // Separate statements, in this order: see beforeEventAppend. Reads run in READ COMMITTED,
    // so the caller's next statement takes a newer snapshot.
    const last = await sql<{ last: number }>`select coalesce(pg_sequence_last_value(${positionSequence}), 0)::int8 as last`.execute(db);
    const held = await sql<{ lowest: number | null }>`
      select min(((classid::int8 << 32) | objid::int8) - ${appenderLockBase}) as lowest
      from pg_locks
      where locktype = 'advisory' and objsubid = 1 and classid >= 1073741824
        and database = (select oid from pg_database where datname = current_database())`.execute(db);
    const lowest = held.rows[0]?.lowest;
    const end = Number(last.rows[0]?.last ?? 0);
    return lowest === null || lowest === undefined ? end : Math.min(end, Number(lowest));
  },
  isIn,
  // PostgreSQL walks posts_feed backwards for the row-value comparison, both columns included.
  postsAfter: (db, after, limit) =>
    db
      .selectFrom('posts')
      .selectAll()
      .where((eb) => eb(eb.refTuple('comment_count', 'id'), '<', eb.tuple(after.commentCount, after.id)))
      .orderBy('comment_count', 'desc')
      .orderBy('id', 'desc')
      .limit(limit),
  feedPage,
  preparedStatement: namedStatement,
  addComment,
  addPost,
  newestComments: (db, postIds, perPost) =>
    // LATERAL runs the LIMIT-ed index scan once per post; a row_number() window over the page
    // would number every comment of a popular post first.
    db
      .selectFrom('posts as p')
      .innerJoinLateral(
        (eb) =>
          eb.selectFrom('comments as newest').selectAll('newest').whereRef('newest.post_id', '=', 'p.id').orderBy('newest.id', 'desc').limit(perPost).as('c'),
        (join) => join.onTrue(),
      )
      .innerJoin('users as u', 'u.id', 'c.author_id')
      .selectAll('c')
      .select('u.username as author_username')
      .where(isIn('p.id', postIds))
      .orderBy('c.id', 'desc')
      .execute(),
  // Real concurrent connections: each transaction commits on its own, and the server's WAL
  // writer already shares fsyncs between concurrent commits.
  groupCommit: null,
};

/** `column IN` the ids, bound as one text[] parameter. */
function isIn(column: string, ids: readonly string[]) {
  return sql<SqlBool>`${sql.ref(column)} = any(${ids}::text[])`;
}
