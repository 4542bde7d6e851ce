import { type Kysely, Migrator, sql } from 'kysely';
import { isAppError } from '../../core/errors.js';
import type {
  CommentRepository,
  EventLog,
  FeedChanges,
  FeedState,
  CollectionRepository,
  IdempotencyRepository,
  ImageRepository,
  MetadataRepositories,
  MetadataStore,
  PostRepository,
  SessionRepository,
  InstanceSettings,
  UserRepository,
} from '../../ports/metadata-store.js';
import type { BlobRecordRepository, ImportLedgerRepository, StatsRepository } from '../../ports/blob-records.js';
import type { JobQueue } from '../../ports/job-queue.js';
import type { UploadLinkRepository, UploadRepository } from '../../ports/upload-repositories.js';
import { type FeedChangeChannel, LocalFeedChanges, type VersionedMove } from './feed-change-channel.js';
import { GroupCommit, type GroupCommitHooks } from './group-commit.js';
import { compiledOnce } from './compiled-once.js';
import { routingWrites } from './routed-writes.js';
import { KyselyRepositories } from './kysely-repositories.js';
import type { MetadataDialect } from './metadata-dialect.js';
import { metadataMigrations } from './migrations.js';
import type { Database } from './schema.js';

/**
 * The MetadataStore over Kysely, for SQLite and PostgreSQL alike. Open it with
 * `openSqliteMetadataStore` or `openPostgresMetadataStore`, which build the `Kysely` instance
 * (with unreachable-database errors already mapped to STORAGE_UNAVAILABLE) and the dialect.
 */
export class KyselyMetadataStore implements MetadataStore {
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly images: ImageRepository;
  readonly events: EventLog;
  readonly posts: PostRepository;
  readonly comments: CommentRepository;
  readonly feed: FeedState;
  readonly idempotency: IdempotencyRepository;
  readonly collections: CollectionRepository;
  readonly uploads: UploadRepository;
  readonly uploadLinks: UploadLinkRepository;
  readonly jobs: JobQueue;
  readonly blobRecords: BlobRecordRepository;
  readonly stats: StatsRepository;
  readonly importLedger: ImportLedgerRepository;
  readonly settings: InstanceSettings;
  readonly feedChanges: FeedChanges;
  readonly #feedChanges: FeedChangeChannel;
  /** Null when the dialect runs each transaction on its own. */
  readonly #groupCommit: GroupCommit | null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
    /** Where news of feed writes goes; by default this process is taken to be the only writer. */
    feedChanges: FeedChangeChannel = new LocalFeedChanges(),
  ) {
    this.feedChanges = this.#feedChanges = feedChanges;
    const limits = dialect.groupCommit;
    // Batches run one after another on the one connection, so one flag serves them all. With one
    // writer connection, the version read right after a bump is exactly the one it made: the
    // moves of comments are recorded under it, kept only as their work and batch commit.
    let batchBumped = false;
    let workMoves: VersionedMove[] = [];
    let batchMoves: VersionedMove[] = [];
    const inBatch = (tx: Kysely<Database>) =>
      noticingBumps(new KyselyRepositories(tx, dialect), () => (batchBumped = true), { db: tx, onMove: (move) => workMoves.push(move) });
    const hooks: GroupCommitHooks = {
      afterWork(kept) {
        if (kept) batchMoves.push(...workMoves);
        workMoves = [];
      },
      afterBatch(committed) {
        if (committed && batchMoves.length > 0) feedChanges.moved(batchMoves);
        batchMoves = [];
        workMoves = [];
        if (batchBumped) feedChanges.wrote();
        batchBumped = false;
      },
    };
    const groupCommit = limits && new GroupCommit(db, inBatch, limits, hooks);
    this.#groupCommit = groupCommit;
    const direct = new KyselyRepositories(db, dialect);
    // With group commit, single writes on the store join a batch too, not paying an fsync each.
    const root = groupCommit ? routingWrites(direct, (work) => groupCommit.run(work)) : direct;
    this.users = root.users;
    this.sessions = root.sessions;
    this.images = root.images;
    this.events = root.events;
    // A bump on the store commits on its own (with group commit it is a batch's work already);
    // so does `add` on posts and comments, which bumps the feed version inside.
    const wrote = () => feedChanges.wrote();
    this.posts = groupCommit ? root.posts : noticingAdds(root.posts, wrote, 'after');
    this.comments = groupCommit ? root.comments : noticingAdds(root.comments, wrote, 'after');
    this.feed = groupCommit ? root.feed : { version: () => root.feed.version(), bump: () => root.feed.bump().finally(wrote) };
    this.idempotency = root.idempotency;
    this.collections = root.collections;
    this.uploads = root.uploads;
    this.uploadLinks = root.uploadLinks;
    this.jobs = root.jobs;
    this.blobRecords = root.blobRecords;
    this.stats = root.stats;
    this.importLedger = root.importLedger;
    this.settings = root.settings;
  }

  /**
   * Runs `work` in one transaction on one connection. With group commit (SQLite), that
   * transaction is shared with the other works of its batch, each in its own savepoint. On
   * SQLite the store has a single connection: calling the store itself (not `tx`) from inside
   * `work` would wait for `work` forever, so don't.
   */
  transaction<T>(work: (tx: MetadataRepositories) => Promise<T>): Promise<T> {
    if (this.#groupCommit !== null) return this.#groupCommit.run(work);
    let bumped = false;
    return this.db
      .transaction()
      .execute((tx) => work(noticingBumps(new KyselyRepositories(tx, this.dialect), () => (bumped = true))))
      .finally(() => {
        if (bumped) this.#feedChanges.wrote();
      });
  }

  /**
   * Applies pending migrations with Kysely's Migrator, which serialises concurrent runs: an
   * advisory lock on PostgreSQL, an immediate (write-locked) transaction on SQLite.
   */
  async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.db, provider: metadataMigrations(this.dialect) });
    const { error, results } = await migrator.migrateToLatest();
    if (error !== undefined) {
      const failed = results?.find((result) => result.status === 'Error');
      if (failed === undefined || isAppError(error)) throw error;
      throw new Error(`migration ${failed.migrationName} failed`, { cause: error });
    }
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  /** Lets queued transactions finish (and commit) first, then closes the connections. */
  async close(): Promise<void> {
    await this.#groupCommit?.drained();
    await this.#feedChanges.close();
    await this.db.destroy();
  }
}

/**
 * `repositories` with `onBump` called as the feed version is bumped through them, and `moves.onMove`
 * (when given) with each comment's move in the feed, read on `moves.db` (its transaction) right after it.
 */
function noticingBumps(
  repositories: KyselyRepositories,
  onBump: () => void,
  moves?: { db: Kysely<Database>; onMove: (move: VersionedMove) => void },
): MetadataRepositories {
  const { feed } = repositories;
  return {
    ...repositories,
    posts: noticingAdds(repositories.posts, onBump, 'before'),
    comments: noticingAdds(moves ? reportingMoves(repositories.comments, moves.db, moves.onMove) : repositories.comments, onBump, 'before'),
    feed: {
      version: () => feed.version(),
      bump: () => {
        onBump();
        return feed.bump();
      },
    },
  };
}

/**
 * `repository` with `notice` called `before` its `add` runs (a transaction's flag, read after its
 * commit) or `after` it settled (an add that commits on its own): `add` bumps the feed version.
 */
function noticingAdds<R extends { add(...args: never[]): Promise<boolean> }>(repository: R, notice: () => void, when: 'before' | 'after'): R {
  return withAdd(repository, (...args) => {
    if (when === 'before') notice();
    const added = repository.add(...args);
    return when === 'after' ? added.finally(notice) : added;
  });
}

/**
 * `comments`, with `onMove` told where each added comment moved its post: one count up, under
 * the version the add's bump made, both read on `db` right after the add. Only for a connection
 * that is the one writer (SQLite's), where the version read after a bump is that bump's alone.
 */
function reportingMoves(comments: CommentRepository, db: Kysely<Database>, onMove: (move: VersionedMove) => void): CommentRepository {
  return withAdd(comments, async (comment, event) => {
    if (!(await comments.add(comment, event))) return false;
    const [place] = (await db.executeQuery(feedPlaceOf(db, comment.postId))).rows;
    if (place) {
      const id = comment.postId;
      const commentCount = Number(place.comment_count);
      onMove({ version: Number(place.version), move: { postId: id, from: { commentCount: commentCount - 1, id }, to: { commentCount, id } } });
    }
    return true;
  });
}

/** A post's comment count and the feed version, in one statement: it runs after every comment. */
const feedPlaceOf = compiledOnce(
  (postId: string) =>
    sql<{ comment_count: number; version: number }>`select comment_count, (select sum(version) from feed_versions) as version from posts where id = ${postId}`,
);

/** `repository` with its `add` replaced by `add`. */
function withAdd<R extends { add(...args: never[]): Promise<boolean> }>(repository: R, add: (...args: Parameters<R['add']>) => Promise<boolean>): R {
  // A Proxy, not a copy: the repositories are class instances whose methods use #private members.
  return new Proxy(repository, {
    get(target, property) {
      if (property === 'add') return add;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
