/**
 * Tells this process's workers that jobs were just enqueued, so they lease them now instead of at
 * their next poll (other processes still find them by polling). Call `notify()` after the commit.
 */
export class JobWakeup {
  readonly #listeners = new Set<() => void>();

  /** Wakes every subscribed worker. */
  notify(): void {
    for (const listener of this.#listeners) listener();
  }

  /** Calls `listener` on every notify until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
