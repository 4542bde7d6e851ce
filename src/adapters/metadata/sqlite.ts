import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BetterSqlite3, type SqliteDatabase } from './sqlite-driver.js';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  Kysely,
  type SqlBool,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
} from 'kysely';
import type { NewEvent } from '../../core/events/event.js';
import type { Comment } from '../../core/posts/post.js';
import { compiledOnce } from './compiled-once.js';
import { writtenForLiveAccount } from './gone-account.js';
import type { GroupCommitLimits } from './group-commit.js';
import { SqliteFeedChanges } from './feed-change-channel.js';
import { KyselyMetadataStore } from './kysely-metadata-store.js';
import { errorCode, logQueriesTo, type MetadataDialect } from './metadata-dialect.js';
import { eventToRow } from './row-mapping.js';
import type { Database } from './schema.js';
import { cachingStatements } from './sqlite-statement-cache.js';
import { WalCommits, type WalCommitsOptions } from './sqlite-wal-commits.js';
import { reportingUnavailableStorage } from './storage-unavailable-dialect.js';

export interface SqliteMetadataStoreOptions {
  /** Called with the SQL of every statement the store runs (Kysely's `log`), e.g. to count them. */
  onQuery?: (sql: string) => void;
  /**
   * How concurrent transactions share commits (default: `sqliteDialect.groupCommit`); false
   * gives every transaction its own commit and fsync, to measure what group commit buys.
   */
  groupCommit?: boolean | GroupCommitLimits;
  /** How commits reach the disk and the WAL is checkpointed (tests observe the fdatasync). */
  walCommits?: WalCommitsOptions;
}

/**
 * Opens (creating it and its directory if needed) the embedded metadata store: one SQLite file,
 * one better-sqlite3 connection. The file is opened on first use, so a missing or unwritable
 * location surfaces as STORAGE_UNAVAILABLE from `ping()`/`migrate()`, like a down server would.
 * Open one store per file per process: better-sqlite3 waits for another connection's lock
 * synchronously, blocking the very event loop that would let that connection finish.
 */
export function openSqliteMetadataStore(file: string, options: SqliteMetadataStoreOptions = {}): KyselyMetadataStore {
  const feedChanges = new SqliteFeedChanges();
  const walCommits = new WalCommits(file, options.walCommits);
  const dialect = new ImmediateTransactionSqliteDialect(
    {
      database: async () => {
        const database = openDatabase(file);
        walCommits.bind(database);
        feedChanges.bind(database);
        return cachingStatements(database, () => walCommits.wrote());
      },
    },
    walCommits,
  );
  const db = new Kysely<Database>({
    dialect: reportingUnavailableStorage(dialect, sqliteDialect.isUnavailable),
    log: logQueriesTo(options.onQuery),
  });
  const { groupCommit = true } = options;
  const limits = groupCommit === true ? sqliteDialect.groupCommit : groupCommit || null;
  return new KyselyMetadataStore(db, { ...sqliteDialect, groupCommit: limits }, feedChanges);
}

function openDatabase(file: string): SqliteDatabase {
  mkdirSync(dirname(file), { recursive: true });
  const database = new BetterSqlite3(file);
  // WAL: readers never block the writer (https://sqlite.org/wal.html).
  database.pragma('journal_mode = WAL');
  // The port promises a resolved transaction is durable, power cut included: SQLite's FULL, one
  // WAL fsync per commit. WalCommits (bound next) does that fsync off the event loop instead.
  // Off by default in SQLite for backwards compatibility (https://sqlite.org/foreignkeys.html).
  database.pragma('foreign_keys = ON');
  // Another process (the CLI, a second server) may hold the write lock: wait, then SQLITE_BUSY.
  database.pragma('busy_timeout = 5000');
  return database;
}

const unavailableCodes = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_IOERR', 'SQLITE_FULL'];
// Only creating the parent directory raises node:fs codes (EEXIST: a file is in its place).
const unavailableFsCodes = ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR', 'EEXIST'];

/** The SQLite half of the dialect differences; its twin is `postgresDialect` in postgres.ts. */
export const sqliteDialect: MetadataDialect = {
  name: 'sqlite',
  // INTEGER PRIMARY KEY is the rowid; AUTOINCREMENT forbids reusing the largest one after a
  // delete (https://sqlite.org/autoinc.html), so positions only ever grow.
  identityType: 'integer',
  identityColumn: (column) => column.primaryKey().autoIncrement(),
  isForeignKeyViolation: (error) => errorCode(error) === 'SQLITE_CONSTRAINT_FOREIGNKEY',
  // BEGIN IMMEDIATE holds the database's one write lock for the whole transaction.
  lockRows: (query) => query,
  isUnavailable(error) {
    const code = errorCode(error);
    if (code === undefined) return false;
    // better-sqlite3 reports extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_FSYNC, …).
    return unavailableCodes.some((prefix) => code === prefix || code.startsWith(`${prefix}_`)) || unavailableFsCodes.includes(code);
  },
  // One connection, and BEGIN IMMEDIATE takes the write lock up front: writers are serialised,
  // so positions already become visible in order.
  beforeEventAppend: async () => {},
  eventHorizon: async () => null,
  isIn,
  postsAfter(db, after, limit) {
    // Row values `(comment_count, id) < (?, ?)` use only the comment_count half of posts_feed
    // here; two index range scans joined with UNION ALL measured 2.8x faster on 100k posts.
    const sameCount = db
      .selectFrom('posts')
      .selectAll()
      .where('comment_count', '=', after.commentCount)
      .where('id', '<', after.id)
      .orderBy('id', 'desc')
      .limit(limit);
    const fewerComments = db
      .selectFrom('posts')
      .selectAll()
      .where('comment_count', '<', after.commentCount)
      .orderBy('comment_count', 'desc')
      .orderBy('id', 'desc')
      .limit(limit);
    // Compound members cannot carry ORDER BY/LIMIT in SQLite, hence the subqueries.
    return db
      .selectFrom(sameCount.as('same_count'))
      .selectAll()
      .unionAll(db.selectFrom(fewerComments.as('fewer_comments')).selectAll())
      .orderBy('comment_count', 'desc')
      .orderBy('id', 'desc')
      .limit(limit);
  },
  newestComments(db, postIds, perPost) {
    // A correlated `IN (… LIMIT n)` per post reads n index entries per post; a row_number()
    // window over the page would number every comment of a popular post first.
    return db
      .selectFrom('posts as p')
      .innerJoin('comments as c', (join) =>
        join.on((eb) =>
          eb(
            'c.id',
            'in',
            eb.selectFrom('comments as newest').select('newest.id').whereRef('newest.post_id', '=', 'p.id').orderBy('newest.id', 'desc').limit(perPost),
          ),
        ),
      )
      .innerJoin('users as u', 'u.id', 'c.author_id')
      .selectAll('c')
      .select('u.username as author_username')
      .where(isIn('p.id', postIds))
      .orderBy('c.id', 'desc')
      .execute();
  },
  addComment,
  // One writer connection and a WAL fsync per commit (WalCommits): concurrent transactions
  // share commits. 64 works of a few queries each run in ~2 ms; 5 ms bounds a batch of slow ones.
  groupCommit: { maxWorks: 64, maxBatchMs: 5 },
};

// A comment's steps, each built and compiled once: they run for every comment, and building and
// compiling them with Kysely cost more CPU than SQLite's running them (bench/feed/profile-comments.ts).
const countComment = compiledOnce((postId: string) => sql`update posts set comment_count = comment_count + 1 where id = ${postId}`);
const insertComment = compiledOnce(
  (id: string, postId: string, authorId: string, body: string, createdAt: number) =>
    sql`insert into comments (id, post_id, author_id, body, created_at) values (${id}, ${postId}, ${authorId}, ${body}, ${createdAt})`,
);
// One writer connection: no counter is ever held by another writer, so always the first.
const bumpFeed = compiledOnce(() => sql`update feed_versions set version = version + 1 where bucket = 0`);
const appendEvent = compiledOnce(
  (type: string, actorId: string | null, subjectId: string, at: number, payload: string) =>
    sql`insert into events (type, actor_id, subject_id, at, payload) values (${type}, ${actorId}, ${subjectId}, ${at}, ${payload})`,
);

/** `CommentRepository.add` on SQLite, in `db`'s transaction or its own (the count first: it proves the post exists). */
function addComment(db: Kysely<Database>, comment: Comment, event: NewEvent): Promise<boolean> {
  const write = async (tx: Kysely<Database>): Promise<boolean> => {
    const counted = await tx.executeQuery(countComment(tx, comment.postId));
    if (!counted.numAffectedRows) return false;
    await writtenForLiveAccount(sqliteDialect, () =>
      tx.executeQuery(insertComment(tx, comment.id, comment.postId, comment.authorId, comment.body, comment.createdAt)),
    );
    // A bump that moved nothing would leave stale pages cached under the old version: never silent.
    if ((await tx.executeQuery(bumpFeed(tx))).numAffectedRows !== 1n) throw new Error('The feed version has no counter 0');
    const row = eventToRow(event, Date.now());
    await tx.executeQuery(appendEvent(tx, row.type, row.actor_id, row.subject_id, row.at, row.payload));
    return true;
  };
  return db.isTransaction ? write(db) : db.transaction().execute(write);
}

/** `column IN` the ids, bound as one JSON array (json_each, built into SQLite since 3.38). */
function isIn(column: string, ids: readonly string[]) {
  return sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(ids)}))`;
}

/**
 * Kysely's SQLite dialect with two changes:
 * - transactions start with BEGIN IMMEDIATE: a deferred BEGIN that reads and then writes fails
 *   with SQLITE_BUSY, without waiting out busy_timeout, when another process wrote in between
 *   (https://sqlite.org/lang_transaction.html, "read transactions" upgrading to write);
 * - migrations run in a transaction: SQLite's DDL is transactional, so a crash mid-migration
 *   leaves nothing half-made, and a second process waits for the first instead of racing it.
 */
class ImmediateTransactionSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #walCommits: WalCommits;

  constructor(config: SqliteDialectConfig, walCommits: WalCommits) {
    super(config);
    this.#config = config;
    this.#walCommits = walCommits;
  }

  override createDriver(): Driver {
    return new ImmediateTransactionSqliteDriver(this.#config, this.#walCommits);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

class ImmediateTransactionSqliteDriver extends SqliteDriver {
  readonly #walCommits: WalCommits;

  constructor(config: SqliteDialectConfig, walCommits: WalCommits) {
    super(config);
    this.#walCommits = walCommits;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  /** The next user of the one connection, even a read, gets it only once what was committed is on disk. */
  override async releaseConnection(): Promise<void> {
    try {
      await this.#walCommits.settle();
    } finally {
      await super.releaseConnection();
    }
  }

  override async destroy(): Promise<void> {
    await this.#walCommits.close();
    await super.destroy();
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
