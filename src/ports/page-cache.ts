/**
 * A cache of rendered responses (serialized JSON), shared by the processes of one deployment.
 * Adapters: in-process LRU (embedded), Redis (scale-out). Entries are only ever looked up under
 * keys that embed a version bumped by every relevant write, so a hit is never stale; eviction
 * is the only way entries go. Failures of the cache must not fail requests: adapters swallow
 * and log backend errors, returning a miss.
 */
export interface PageCache {
  /** The value stored under `key`, or undefined. */
  get(key: string): Promise<string | undefined>;
  /** Stores `value` under `key` (possibly evicting others). */
  set(key: string, value: string): Promise<void>;
}
