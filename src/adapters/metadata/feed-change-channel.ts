import type { FeedChanges } from '../../ports/metadata-store.js';

/** What the store tells its FeedChanges, besides what subscribers see. */
export interface FeedChangeChannel extends FeedChanges {
  /** A transaction of this process that bumped the feed version has ended (committed or not). */
  wrote(): void;
  /** Stops hearing other processes; called by the store's close, before its connections go. */
  close(): Promise<void>;
}

/**
 * FeedChanges where this process is the only writer (SQLite: the data directory is locked by
 * one process), so its own transactions are all the news there is and `heard()` is always true.
 */
export class LocalFeedChanges implements FeedChangeChannel {
  readonly #listeners = new Set<() => void>();

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
