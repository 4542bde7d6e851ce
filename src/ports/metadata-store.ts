import type { NewEvent, StoredEvent } from '../core/events/event.js';
import type { Image } from '../core/images/image.js';
import type { Session, User } from '../core/users/user.js';

/**
 * The metadata store: users, sessions, images and the event log, in one transactional database.
 * Adapters: SQLite (embedded) and PostgreSQL (scale-out), both via Kysely. Every method may throw
 * AppError('STORAGE_UNAVAILABLE') when the database cannot be reached; any other failure is a bug.
 */
export interface MetadataStore extends MetadataRepositories {
  /**
   * Runs `work` in one ACID transaction: everything written through the `tx` it receives commits
   * together (durably, before the promise resolves) or not at all, and `work`'s error is rethrown.
   * Calls made on the store itself (not on `tx`) each commit on their own; `work` must use only
   * `tx` (on SQLite the store has one connection, so calling the store inside `work` deadlocks).
   */
  transaction<T>(work: (tx: MetadataRepositories) => Promise<T>): Promise<T>;
  /** Applies pending schema migrations; safe to call on every start and from several processes. */
  migrate(): Promise<void>;
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** The repositories, bound either to the store (autocommit) or to one transaction. */
export interface MetadataRepositories {
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly images: ImageRepository;
  readonly events: EventLog;
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
}

export interface SessionRepository {
  /** Stores a new session. */
  insert(session: Session): Promise<void>;
  /** The session with that token hash and its user, if it exists and has not expired at `now`. */
  findActive(tokenHash: string, now: number): Promise<{ session: Session; user: User } | null>;
  /** Deletes the session; returns whether one existed. */
  delete(tokenHash: string): Promise<boolean>;
}

export interface ImageRepository {
  /**
   * Inserts an image unless its owner already has one with the same sha256; then returns that
   * one with `created: false` (safe under concurrent identical uploads: exactly one row wins).
   */
  insertOrGetExisting(image: Image): Promise<{ image: Image; created: boolean }>;
  /** The image with that id, or null. */
  findById(id: string): Promise<Image | null>;
  /** The owner's image of those bytes, or null. */
  findByOwnerAndHash(ownerId: string, sha256: string): Promise<Image | null>;
  /** Deletes the row; returns whether one existed. The blob is left for garbage collection. */
  delete(id: string): Promise<boolean>;
  /** Sets `uploadCompletedAt` (and status `ready`) if not yet set; returns whether it changed. */
  markUploadCompleted(id: string, at: number): Promise<boolean>;
  /** How many image rows reference the blob with that hash. */
  countByHash(sha256: string): Promise<number>;
}

export interface EventLog {
  /**
   * Appends events (in order) and returns them with positions strictly greater than any before.
   * Positions become visible in order: a reader paging with `list(after)` never skips an event
   * that commits late. Appends serialise writers until commit, so append events last in a transaction.
   */
  append(...events: NewEvent[]): Promise<StoredEvent[]>;
  /** Up to `limit` events with position > `after`, in position order. */
  list(after: number, limit: number): Promise<StoredEvent[]>;
}
