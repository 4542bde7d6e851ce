import type { FeedChanges, FeedMove } from '../../ports/metadata-store.js';

/** A move and the feed version its bump made (exact: read in the transaction that bumped). */
export interface VersionedMove {
  version: number;
  move: FeedMove;
}

/** How many versions' moves are remembered: pages older than that are rendered again. */
const rememberedMoves = 4096;

/** What the store tells its FeedChanges, besides what subscribers see. */
export interface FeedChangeChannel extends FeedChanges {
  /**
   * Moves this process committed, each under the exact version its bump made. Call before
   * `wrote()` for the same transaction, and only after it committed.
   */
  moved(moves: readonly VersionedMove[]): void;
  /** A transaction of this process that bumped the feed version has ended (committed or not). */
  wrote(): void;
  /** Stops hearing other processes; called by the store's close, before its connections go. */
  close(): Promise<void>;
}

/**
 * FeedChanges where this process is the only writer, so its own transactions are all the news
 * there is and `heard()` is always true (in-memory stores, tests).
 */
export class LocalFeedChanges implements FeedChangeChannel {
  readonly #listeners = new Set<() => void>();
  /** By version. A version missing here was bumped by something other than a known move. */
  readonly #moves = new Map<number, FeedMove>();

  subscribe(listener: () => void): () => void {
    // A wrapper per subscription: subscribing one function twice gives two independent ones.
    const entry = () => listener();
    this.#listeners.add(entry);
    this.started();
    return () => this.#listeners.delete(entry);
  }

  heard(): boolean {
    return true;
  }

  moved(moves: readonly VersionedMove[]): void {
    for (const { version, move } of moves) {
      this.#moves.set(version, move);
      // Versions arrive in increasing order, so the first key is the oldest.
      if (this.#moves.size > rememberedMoves) this.#moves.delete(this.#moves.keys().next().value as number);
    }
  }

  movesBetween(from: number, to: number): readonly FeedMove[] | undefined {
    if (to < from || to - from > rememberedMoves) return undefined;
    const moves: FeedMove[] = [];
    for (let version = from + 1; version <= to; version++) {
      const move = this.#moves.get(version);
      if (move === undefined) return undefined;
      moves.push(move);
    }
    return moves;
  }

  wrote(): void {
    this.emit();
  }

  async close(): Promise<void> {}

  /** Called after each subscription (subclasses open their channel on the first). */
  protected started(): void {}

  /** Whether anyone listens (subclasses need no channel otherwise). */
  protected get subscribed(): boolean {
    return this.#listeners.size > 0;
  }

  /** Tells every listener the version may have moved. */
  protected emit(): void {
    for (const listener of this.#listeners) listener();
  }
}

/** The piece of a better-sqlite3 connection SqliteFeedChanges reads. */
interface DataVersionSource {
  prepare(sql: string): { pluck(): { get(): unknown } };
}

/**
 * FeedChanges on a SQLite file. The server's data directory is locked to one process, but the
 * file itself may be written by others (the CLI, a second server given the same DATABASE_URL):
 * `PRAGMA data_version` moves when another connection commits
 * (https://sqlite.org/pragma.html#pragma_data_version), so `heard()` is true only while it has not
 * moved since the connection opened or since it last moved; when it has, listeners are told and
 * the next read goes to the database. It is read from the WAL index in memory: no disk I/O.
 *
 * It is read at most once per turn of the event loop: every request handled in a turn arrived
 * before the turn began, so one reading taken during the turn is as recent as each of them needs
 * (a write that commits later is concurrent with them). That spares the two lock syscalls of a
 * reading, about a fifth of a cached feed read, for all but the first request of a turn.
 */
export class SqliteFeedChanges extends LocalFeedChanges {
  #statement: { get(): unknown } | undefined;
  #seen: unknown;
  /** A reading was taken in this turn of the event loop (cleared by an immediate). */
  #readThisTurn = false;
  readonly #nextTurn = () => {
    this.#readThisTurn = false;
  };

  /** Starts watching `connection`; called as the store opens it, before any query runs on it. */
  bind(connection: DataVersionSource): void {
    this.#statement = connection.prepare('PRAGMA data_version').pluck();
    this.#seen = this.#statement.get();
  }

  override heard(): boolean {
    if (this.#statement === undefined) return false;
    // Already read in this turn: whatever it found has been acted on (listeners told).
    if (this.#readThisTurn) return true;
    this.#readThisTurn = true;
    // Taken in the check phase, it lasts into the next turn's poll at worst: one turn later to
    // hear another process, which the port allows ("not instant").
    setImmediate(this.#nextTurn);
    const version = this.#statement.get();
    if (version === this.#seen) return true;
    this.#seen = version;
    this.emit();
    return false;
  }
}
