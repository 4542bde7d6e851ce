import { createHash } from 'node:crypto';
import type { Repositories, RepositoryName, StoreSlice } from '../../ports/store-slice.js';
import { AppError } from '../errors.js';

/** What a client asked to do once: its key, scoped to the user, and a fingerprint of the request. */
export interface IdempotencyClaim {
  userId: string;
  key: string;
  fingerprint: string;
}

/** Records the result inside the write's own transaction, so "created" and "remembered" commit together. */
export type RecordResult<T> = (tx: Repositories<'idempotency'>, result: T) => Promise<void>;

export interface IdempotentWritesOptions {
  /** How long a key is remembered (draft: "at least 24 hours" is common practice). */
  ttlMs: number;
  /** How long an in-flight claim blocks retries before it counts as abandoned (a crashed request). */
  leaseMs: number;
  now?: () => number;
}

/**
 * `Idempotency-Key` semantics (IETF httpapi-idempotency-key draft) for any write: the first request
 * runs; a retry with the same key and fingerprint gets the first result back and creates nothing;
 * the same key with another fingerprint is IDEMPOTENCY_KEY_REUSED (422); one still running is
 * IDEMPOTENCY_KEY_IN_FLIGHT (409). A failed request releases its key so the client can retry.
 */
export class IdempotentWrites {
  private readonly now: () => number;

  constructor(
    private readonly store: StoreSlice<'idempotency'>,
    private readonly options: IdempotentWritesOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Runs `write` at most once per claim (always when `claim` is null). `write` gets the function
   * that records its result in its transaction, or null when there is no claim to record.
   */
  async run<T>(claim: IdempotencyClaim | null, write: (record: RecordResult<T> | null) => Promise<T>): Promise<{ result: T; replayed: boolean }> {
    if (!claim) return { result: await write(null), replayed: false };
    const now = this.now();
    const outcome = await this.store.idempotency.claim(
      { ...claim, result: null, createdAt: now, leaseUntil: now + this.options.leaseMs, expiresAt: now + this.options.ttlMs },
      now,
    );
    if (!outcome.claimed) {
      const { existing } = outcome;
      if (existing.fingerprint !== claim.fingerprint) throw new AppError('IDEMPOTENCY_KEY_REUSED');
      if (existing.result === null) throw new AppError('IDEMPOTENCY_KEY_IN_FLIGHT');
      return { result: JSON.parse(existing.result) as T, replayed: true };
    }
    try {
      const result = await write((tx, value) => tx.idempotency.complete(claim.userId, claim.key, JSON.stringify(value)));
      return { result, replayed: false };
    } catch (error) {
      await this.store.idempotency.release(claim.userId, claim.key);
      throw error;
    }
  }
}

/**
 * Commits one insert with its idempotency record. Without a record to keep, `insert` runs on the
 * store itself: one atomic call (one statement on PostgreSQL, no transaction held open across round
 * trips). With one, `insert` and the record commit in one transaction. `insert` returns false when
 * it inserted nothing (its parent row is gone); then nothing is recorded and this returns false.
 */
export async function commitRecorded<K extends RepositoryName, T>(
  store: StoreSlice<K | 'idempotency'>,
  record: RecordResult<T> | null,
  result: T,
  insert: (repositories: Repositories<K>) => Promise<boolean>,
): Promise<boolean> {
  if (record === null) return insert(store);
  return store.transaction(async (tx) => {
    if (!(await insert(tx))) return false;
    await record(tx, result);
    return true;
  });
}

/** A request fingerprint: SHA-256 over its parts, unambiguously separated. */
export function fingerprintOf(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.length}:${part}`);
  return hash.digest('hex');
}

/** Validates an `Idempotency-Key` header value (an RFC 8941 sf-string, quotes optional). Throws INVALID_IDEMPOTENCY_KEY. */
export function parseIdempotencyKey(header: string | undefined): string | null {
  if (header === undefined) return null;
  const key = header.trim().replace(/^"(.*)"$/, '$1');
  if (key.length === 0 || key.length > 255 || !/^[\x20-\x7e]+$/.test(key)) {
    throw new AppError('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1–255 printable ASCII characters');
  }
  return key;
}
