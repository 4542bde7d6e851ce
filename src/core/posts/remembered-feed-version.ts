import type { FeedChanges } from '../../ports/metadata-store.js';

export interface RememberedFeedVersionOptions {
  /** How long a version read from the database may be reused; 0 reads it for every request. */
  maxAgeMs: number;
  /** The clock (milliseconds), injected by tests. */
  now?: () => number;
}

/**
 * The feed version kept in memory between writes, so a cache hit needs no SQL. A version read
 * from the database is reused until (a) the store reports that it may have moved (any bump by
 * this process, reported before the write is acknowledged, so a client always reads its own
 * writes on the process that made them; another process's bump, as soon as it is heard of) or
 * (b) it is `maxAgeMs` old, or (c) the store stops hearing other processes. So a page is never
 * older than a write this process acknowledged, and another process's write shows within
 * `maxAgeMs` at worst (in milliseconds while its notice arrives).
 */
export class RememberedFeedVersion {
  #known: { version: number; readAt: number } | null = null;
  /** Moves on every report: a read that started before one must not be remembered. */
  #generation = 0;
  #closed = false;
  readonly #now: () => number;
  /** Null until the first read: a process that never serves the feed opens no channel. */
  #unsubscribe: (() => void) | null = null;

  constructor(
    private readonly read: () => Promise<number>,
    private readonly changes: FeedChanges,
    private readonly options: RememberedFeedVersionOptions,
  ) {
    this.#now = options.now ?? Date.now;
  }

  /** The version as of now: from memory while that is exact enough (see the class), else read. */
  async version(): Promise<number> {
    const known = this.current();
    return known ?? this.#readAndRemember();
  }

  /** The remembered version if it may still be used, else undefined (then call `version()`). */
  current(): number | undefined {
    const known = this.#known;
    if (known === null) return undefined;
    const now = this.#now();
    // A clock that went backwards proves nothing about the age: read again.
    if (now - known.readAt >= this.options.maxAgeMs || now < known.readAt || !this.changes.heard()) {
      this.#known = null;
      return undefined;
    }
    return known.version;
  }

  /**
   * Starts listening for changes now rather than at the first read, and resolves true once
   * other processes are heard, false if they are not within `withinMs` (until they are, every
   * version is read from the database). Resolves true at once when nothing is remembered.
   */
  listen(withinMs: number): Promise<boolean> {
    if (this.options.maxAgeMs <= 0 || this.#closed) return Promise.resolve(true);
    this.#subscribe();
    return new Promise((resolve) => {
      if (this.changes.heard()) return resolve(true);
      const done = (heard: boolean) => {
        clearTimeout(timer);
        unsubscribe();
        resolve(heard);
      };
      const timer = setTimeout(() => done(false), withinMs);
      const unsubscribe = this.changes.subscribe(() => {
        if (this.changes.heard()) done(true);
      });
    });
  }

  /** Stops listening for changes (the version is then read every time). */
  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#closed = true;
    this.#forget();
  }

  async #readAndRemember(): Promise<number> {
    this.#subscribe();
    const generation = this.#generation;
    // Aged from before the read: whatever it returns is at least this fresh.
    const readAt = this.#now();
    const version = await this.read();
    if (this.options.maxAgeMs > 0 && !this.#closed && generation === this.#generation && this.changes.heard()) {
      this.#known = { version, readAt };
    }
    return version;
  }

  #subscribe(): void {
    if (this.#unsubscribe === null && this.options.maxAgeMs > 0 && !this.#closed) this.#unsubscribe = this.changes.subscribe(() => this.#forget());
  }

  #forget(): void {
    this.#generation++;
    this.#known = null;
  }
}
