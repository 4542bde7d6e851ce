import type { Collection } from '../core/collections/collection.js';
import type { EventType, NewEvent, StoredEvent } from '../core/events/event.js';
import type { IdempotencyRecord } from '../core/idempotency/idempotency-record.js';
import type { Image, ImageSharing, PhotoMetadata } from '../core/images/image.js';
import type { Comment, CommentView, FeedPosition, Post, PostView } from '../core/posts/post.js';
import type { Session, User } from '../core/users/user.js';
import type { BlobRecordRepository, ImportLedgerRepository, StatsRepository } from './blob-records.js';
import type { JobQueue } from './job-queue.js';
import type { UploadLinkRepository, UploadRepository } from './upload-repositories.js';

/**
 * The metadata store: users, sessions, images and the event log, in one transactional database.
 * Adapters: SQLite (embedded) and PostgreSQL (scale-out), both via Kysely. Every method may throw
 * AppError('STORAGE_UNAVAILABLE') when the database cannot be reached; any other failure is a bug.
 */
export interface MetadataStore extends MetadataRepositories {
  /**
   * Runs `work` in one ACID transaction: everything written through the `tx` it receives commits
   * together (durably, before the promise resolves) or not at all, and `work`'s error is rethrown.
   * Calls made on the store itself (not on `tx`) are each atomic and durable before they resolve,
   * though they may share a commit with other writers (SQLite group commit). `work` must use only
   * `tx` (on SQLite the store has one connection, so calling the store inside `work` deadlocks)
   * and stay short, with no network or file I/O: on SQLite a slow `work` holds up its whole batch.
   */
  transaction<T>(work: (tx: MetadataRepositories) => Promise<T>): Promise<T>;
  /** Applies pending schema migrations; safe to call on every start and from several processes. */
  migrate(): Promise<void>;
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
  /** News that the feed version may have moved, so a process can remember it between writes. */
  readonly feedChanges: FeedChanges;
}

/** The repositories, bound either to the store (autocommit) or to one transaction. */
export interface MetadataRepositories {
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly images: ImageRepository;
  readonly events: EventLog;
  readonly posts: PostRepository;
  readonly comments: CommentRepository;
  readonly feed: FeedState;
  readonly idempotency: IdempotencyRepository;
  readonly collections: CollectionRepository;
  /** Resumable uploads (see upload-repositories.ts). */
  readonly uploads: UploadRepository;
  /** Upload links (see upload-repositories.ts). */
  readonly uploadLinks: UploadLinkRepository;
  /** The job table (see job-queue.ts). */
  readonly jobs: JobQueue;
  /** One record per stored blob, for garbage collection (see blob-records.ts). */
  readonly blobRecords: BlobRecordRepository;
  /** The admin stats projection (see blob-records.ts). */
  readonly stats: StatsRepository;
  /** What bulk imports did with each file (see blob-records.ts). */
  readonly importLedger: ImportLedgerRepository;
  /** Values every process of a deployment must agree on (shared secrets, fingerprints). */
  readonly settings: InstanceSettings;
}

export interface UserRepository {
  /** Inserts a user. Throws AppError('USERNAME_TAKEN') when the username exists, compared case-insensitively. */
  insert(user: User): Promise<void>;
  /** The user with that username (case-insensitive), or null. */
  findByUsername(username: string): Promise<User | null>;
  /** The user with that id, or null. */
  findById(id: string): Promise<User | null>;
  /** The users with those ids (missing ids are left out), in no particular order. */
  findByIds(ids: readonly string[]): Promise<User[]>;
  /** Replaces the user's password hash; returns whether the user exists. */
  setPasswordHash(id: string, passwordHash: string): Promise<boolean>;
  /**
   * Deletes the user with their sessions, idempotency keys, resumable-upload records and import
   * ledger (by cascade); returns whether one existed. Their images, posts, comments and
   * collections must be gone first (the foreign keys refuse otherwise).
   */
  delete(id: string): Promise<boolean>;
}

export interface SessionRepository {
  /** Stores a new session. */
  insert(session: Session): Promise<void>;
  /** The session with that token hash and its user, if it exists and has not expired at `now`. */
  findActive(tokenHash: string, now: number): Promise<{ session: Session; user: User } | null>;
  /** Deletes the session; returns whether one existed. */
  delete(tokenHash: string): Promise<boolean>;
  /** Deletes every session of the user except the one with token hash `keep` (none kept when null); returns how many. */
  deleteByUser(userId: string, keep: string | null): Promise<number>;
  /** Deletes sessions expired at `now` (they are refused already); returns how many. */
  deleteExpired(now: number): Promise<number>;
}

export interface ImageRepository {
  /**
   * Inserts an image unless its owner already has one with the same sha256; then returns that
   * one with `created: false` (safe under concurrent identical uploads: exactly one row wins).
   * Creating one also records its blob (see BlobRecordRepository) as referenced and present,
   * even a blob claimed for deletion: only an ingest's pin, taken before, rules that out.
   */
  insertOrGetExisting(image: Image): Promise<{ image: Image; created: boolean }>;
  /** The image with that id, or null. */
  findById(id: string): Promise<Image | null>;
  /** The images with those ids (missing ids left out), in no particular order; one query whatever `ids.length`. */
  findByIds(ids: readonly string[]): Promise<Image[]>;
  /** Up to `limit` of the owner's images, newest first (id desc), strictly after the image id `after`. */
  listByOwner(ownerId: string, after: string | null, limit: number): Promise<Image[]>;
  /**
   * Deletes every image of the owner (and their collection memberships); returns how many. Blobs
   * no image references any more are marked unreferenced since `now`, as by `delete`. The owner's
   * posts must be gone first: throws AppError('IMAGE_IN_USE') while a post shows one.
   */
  deleteByOwner(ownerId: string, now: number): Promise<number>;
  /** The owner's image of those bytes, or null. */
  findByOwnerAndHash(ownerId: string, sha256: string): Promise<Image | null>;
  /**
   * Deletes the row (and its collection memberships); returns whether one existed. The blob is
   * left for garbage collection: when no image references it any more its record is marked
   * unreferenced since `now`. Throws AppError('IMAGE_IN_USE') when a post still shows the image.
   */
  delete(id: string, now?: number): Promise<boolean>;
  /** Sets `uploadCompletedAt` (and status `ready`) if not yet set; returns whether it changed. */
  markUploadCompleted(id: string, at: number): Promise<boolean>;
  /**
   * Sets status `failed` if its upload has not completed, locking the row until commit (call it in
   * the transaction that then retires the image); returns whether the upload is still incomplete
   * (true again for a row already failed). False means the upload completed meanwhile (or the row
   * is gone): leave it alone.
   */
  markFailed(id: string): Promise<boolean>;
  /** How many image rows reference the blob with that hash. */
  countByHash(sha256: string): Promise<number>;
  /** The images of the blob with that hash, any owner. */
  findByHash(sha256: string): Promise<Image[]>;
  /** Stores extracted EXIF facts and `metadataExtractedAt = at`; returns whether the image exists. */
  setMetadata(id: string, metadata: PhotoMetadata, at: number): Promise<boolean>;
  /** Sets the owner's sharing choices given (absent ones unchanged); returns the image, or null when absent. */
  setSharing(id: string, sharing: ImageSharing): Promise<Image | null>;
  /** Up to `limit` images without `uploadCompletedAt` created before `createdBefore`, in id order strictly after `after`. */
  listIncomplete(createdBefore: number, after: string | null, limit: number): Promise<Image[]>;
  /** Up to `limit` image ids in id order strictly after `after` (every image, for reprocessing). */
  listIds(after: string | null, limit: number): Promise<string[]>;
}

export interface EventLog {
  /**
   * Appends events (in order) and returns them with positions strictly greater than any before.
   * Concurrent appenders do not wait for each other and may commit out of order, but readers
   * never see a position before every smaller one has committed (or rolled back): a reader paging
   * with `list(after)` never skips an event that commits late.
   */
  append(...events: NewEvent[]): Promise<StoredEvent[]>;
  /**
   * Up to `limit` events with position > `after`, in position order; only those of `types` when
   * given. Events committed behind a still-running append are held back until it ends.
   */
  list(after: number, limit: number, types?: readonly EventType[]): Promise<StoredEvent[]>;
  /** The position of the last committed event (0 when there is none): every event up to it is visible. */
  lastPosition(): Promise<number>;
}

export interface PostRepository {
  /** Inserts a post (its image must exist; commentCount is stored as given, normally 0). */
  insert(post: Post): Promise<void>;
  /**
   * Adds a post with everything that commits with it, atomically: the post, a feed version bump
   * and `event` appended to the log. Resolves false, having written nothing, when its image does
   * not exist (any more). Outside a transaction it commits on its own.
   */
  add(post: Post, event: NewEvent): Promise<boolean>;
  /** The post with that id, or null. */
  findById(id: string): Promise<Post | null>;
  /**
   * The posts with those ids as views (author, image, last 2 comments newest first), in the order
   * of `ids`, missing ids left out. Costs a constant number of queries whatever `ids.length`.
   */
  findViews(ids: readonly string[]): Promise<PostView[]>;
  /**
   * Up to `limit` post views in feed order (commentCount desc, id desc) strictly after `after`
   * (from the start when null). Costs a constant number of queries whatever `limit`. The array and
   * views may be shared with other callers, frozen: read them, never change them.
   */
  feedPage(after: FeedPosition | null, limit: number): Promise<PostView[]>;
  /**
   * Up to `limit` of the author's post views, newest first (id desc), strictly after the post id
   * `after`. Costs a constant number of queries whatever `limit`.
   */
  listByAuthor(authorId: string, after: string | null, limit: number): Promise<PostView[]>;
  /** Replaces the caption; returns whether the post exists. */
  setCaption(id: string, caption: string): Promise<boolean>;
  /** Deletes every post of the author with their comments (anyone's); returns how many posts. */
  deleteByAuthor(authorId: string): Promise<number>;
  /** Deletes the post and its comments; returns whether it existed. */
  delete(id: string): Promise<boolean>;
  /**
   * Adds `delta` (any integer, normally ±1) to the post's commentCount atomically (safe under concurrent writers) and
   * returns whether the post exists. The update locks the post row until commit, so a concurrent
   * delete of the post waits: call it before inserting a comment to know the post is there.
   */
  adjustCommentCount(postId: string, delta: number): Promise<boolean>;
  /** How many posts show that image. */
  countByImage(imageId: string): Promise<number>;
  /** The posts that show that image. */
  findByImage(imageId: string): Promise<Post[]>;
}

export interface CommentRepository {
  /** Inserts a comment (its post must exist). */
  insert(comment: Comment): Promise<void>;
  /**
   * Adds a comment with everything that commits with it, atomically: its post's commentCount + 1,
   * the comment, a feed version bump and `event` appended to the log. Resolves false, having
   * written nothing, when the post does not exist. Outside a transaction it commits on its own.
   */
  add(comment: Comment, event: NewEvent): Promise<boolean>;
  /** The comment with that id, or null. */
  findById(id: string): Promise<Comment | null>;
  /** Deletes the comment; returns whether it existed (false when a concurrent delete won). */
  delete(id: string): Promise<boolean>;
  /** Up to `limit` of the post's comments, newest first (id desc), strictly after the comment id `after`. */
  listByPost(postId: string, after: string | null, limit: number): Promise<CommentView[]>;
  /**
   * Deletes every comment the author wrote, on any post; returns how many went from each post
   * (posts without any left out), so the caller can adjust their commentCount in the same transaction.
   */
  deleteByAuthor(authorId: string): Promise<{ postId: string; removed: number }[]>;
  /** How many comments the post has (counted, not the stored commentCount). */
  countByPost(postId: string): Promise<number>;
  /**
   * The newest `perPost` comments of each post in `postIds`, with authors, newest first, in ONE
   * query that reads only those comments however many a post has (the first page of many posts).
   */
  newestOfPosts(postIds: readonly string[], perPost: number): Promise<CommentView[]>;
}

/**
 * Named values kept in the shared database so that every process of one deployment reads the same
 * (a generated secret, the fingerprint of the admin token). Names are short ASCII keys.
 */
export interface InstanceSettings {
  /** The value stored under `name`, or null. */
  get(name: string): Promise<string | null>;
  /**
   * Stores `value` under `name` unless a value is there already, and resolves with the one stored:
   * of processes racing to set a name, all get the first one's value.
   */
  setIfAbsent(name: string, value: string): Promise<string>;
  /** Stores `value` under `name`, replacing any. */
  set(name: string, value: string): Promise<void>;
}

/**
 * A counter every feed-changing write bumps in its own transaction, so a cache keyed by it can
 * never serve a page older than the last committed write (no TTL staleness). Concurrent bumps
 * need not wait for each other's commits; two reads returning the same version saw the same writes.
 */
export interface FeedState {
  /** The current feed version. */
  version(): Promise<number>;
  /** Increments the version; call inside the transaction that changes posts or comments. */
  bump(): Promise<void>;
}

/**
 * Tells a process when the feed version may have moved, so it may keep the version in memory
 * instead of reading it for every request. Spurious news is harmless; missed news is not: while
 * `heard()` is true, every bump by this process is reported before its transaction settles, and
 * other processes' bumps are reported as they are heard of (their delivery is not instant and
 * can be lost, so a remembered version must also expire; see RememberedFeedVersion).
 */
export interface FeedChanges {
  /**
   * Calls `listener` (synchronously; it must not throw) whenever the version may have moved: after
   * every transaction of this store that bumped it ends, committed or not, before its promise
   * settles; when another process's bump is heard of; and whenever `heard()` changes. The first
   * subscription may open the channel that hears other processes. Returns the unsubscribe.
   */
  subscribe(listener: () => void): () => void;
  /**
   * Whether other processes' bumps are being heard (always true where no other process writes):
   * false until the channel is up and while it is down, when a remembered version must not be used.
   */
  heard(): boolean;
  /**
   * The moves that the feed versions `from` + 1 … `to` were bumped for, in version order, when
   * this process knows every one of them exactly (on the embedded store: its own comments);
   * undefined when any bump in between is not known as a move (another process's write, a new or
   * deleted post, an edit, a rename, …) or is too old to be remembered. A cached page that no
   * move touched is still exact at `to`. Optional: without it, no bump is known.
   */
  movesBetween?(from: number, to: number): readonly FeedMove[] | undefined;
}

/** One post moved in the feed order by one committed bump (a comment added or removed). */
export interface FeedMove {
  postId: string;
  /** Where it stood before the write. */
  from: FeedPosition;
  /** Where it stands after. */
  to: FeedPosition;
}

export interface IdempotencyRepository {
  /**
   * Claims `record.key` for `record.userId`. Succeeds (`claimed: true`) when the key is unknown,
   * expired (`expiresAt <= now`), or held by an in-flight claim whose lease ended (`leaseUntil <
   * now`); otherwise returns the existing record untouched. Race-safe: of concurrent claims
   * exactly one wins.
   */
  claim(record: IdempotencyRecord, now: number): Promise<{ claimed: true } | { claimed: false; existing: IdempotencyRecord }>;
  /** Stores the result of the claimed request; call in the transaction of the write it made. */
  complete(userId: string, key: string, result: string): Promise<void>;
  /** Forgets an in-flight claim whose request failed, so a retry runs afresh; never a completed one. */
  release(userId: string, key: string): Promise<void>;
  /** Deletes records expired at `now`; returns how many. */
  deleteExpired(now: number): Promise<number>;
}

/**
 * Collections and their images: a set per collection, kept in one membership table, so an image's
 * collections and a collection's images are the same rows and always change together. Deleting a
 * collection or an image removes its memberships in the same statement.
 */
export interface CollectionRepository {
  /** Inserts a collection (its owner must exist). */
  insert(collection: Collection): Promise<void>;
  /** The collection with that id, or null. */
  findById(id: string): Promise<Collection | null>;
  /** The collections with those ids (missing ids left out), in no particular order; one query. */
  findByIds(ids: readonly string[]): Promise<Collection[]>;
  /** Up to `limit` of the owner's collections, newest first (id desc), strictly after the collection id `after`. */
  listByOwner(ownerId: string, after: string | null, limit: number): Promise<Collection[]>;
  /** Renames it; returns whether it exists. */
  rename(id: string, name: string): Promise<boolean>;
  /** Deletes every collection of the owner and their memberships (not the images); returns how many. */
  deleteByOwner(ownerId: string): Promise<number>;
  /** Deletes it and its memberships (not the images); returns whether it existed. */
  delete(id: string): Promise<boolean>;
  /**
   * Adds the images (which must exist) to the collection, skipping those already in it (safe under
   * concurrent adds of the same image); returns the ids actually added, in no particular order.
   */
  addImages(collectionId: string, imageIds: readonly string[], addedAt: number): Promise<string[]>;
  /** Removes those images from it; returns the ids that were in it, in no particular order. */
  removeImages(collectionId: string, imageIds: readonly string[]): Promise<string[]>;
  /** The images of each collection in `collectionIds`, newest image first (id desc), in ONE query. */
  imagesIn(collectionIds: readonly string[]): Promise<{ collectionId: string; image: Image }[]>;
  /** The collections each image in `imageIds` is in, newest collection first (id desc), in ONE query. */
  collectionsOf(imageIds: readonly string[]): Promise<{ imageId: string; collection: Collection }[]>;
}
