import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Debug aid (`IMAGEGRAM_DEBUG_QUERY_COUNT=1`): counts the SQL statements each request runs, so a
 * test can prove that a page costs a constant number of queries. A request's count includes every
 * statement run in its async context; a SQLite group commit started by another request counts
 * there instead, so use it for reads.
 */
export class QueryCounter {
  readonly #scope = new AsyncLocalStorage<{ count: number }>();

  /** Pass to the metadata store's `onQuery`. */
  readonly onQuery = (): void => {
    const current = this.#scope.getStore();
    if (current) current.count += 1;
  };

  /** Runs `work` (and everything it starts) with a fresh count. */
  run<T>(work: () => T): T {
    return this.#scope.run({ count: 0 }, work);
  }

  /** Statements counted so far in the current scope, or undefined outside one. */
  current(): number | undefined {
    return this.#scope.getStore()?.count;
  }
}
