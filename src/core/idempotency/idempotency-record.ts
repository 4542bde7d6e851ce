/** A remembered `Idempotency-Key` (IETF httpapi-idempotency-key draft), scoped to one user. */
export interface IdempotencyRecord {
  userId: string;
  key: string;
  /** SHA-256 of what the request asked for; the same key with another fingerprint is refused. */
  fingerprint: string;
  /** Null while the first request is in flight; then the JSON of its result, replayed to retries. */
  result: string | null;
  createdAt: number;
  /** An in-flight claim older than this (epoch ms) was abandoned by a crashed request: it may be re-claimed. */
  leaseUntil: number;
  /** After this the key is forgotten. */
  expiresAt: number;
}
