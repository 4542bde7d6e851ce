import type { Repositories } from '../../ports/store-slice.js';

/** Done jobs are kept this long for `GET /admin/jobs`, then deleted. */
const finishedJobRetentionMs = 7 * 86_400_000;

/** What one `records.expire` run deleted. */
export interface RecordExpiryReport {
  sessions: number;
  idempotencyKeys: number;
  blobPins: number;
  finishedJobs: number;
}

/**
 * The `records.expire` job: deletes rows that are already ignored once expired (sessions,
 * Idempotency-Keys, blob pins of crashed ingests) and done jobs older than a week, so tables
 * holding them stay small.
 */
export async function expireRecords(store: Repositories<'blobRecords' | 'idempotency' | 'jobs' | 'sessions'>, now: number): Promise<RecordExpiryReport> {
  let finishedJobs = 0;
  for (let deleted = -1; deleted !== 0; ) {
    deleted = await store.jobs.deleteFinished(now - finishedJobRetentionMs, 1_000);
    finishedJobs += deleted;
  }
  return {
    sessions: await store.sessions.deleteExpired(now),
    idempotencyKeys: await store.idempotency.deleteExpired(now),
    blobPins: await store.blobRecords.deleteExpiredPins(now),
    finishedJobs,
  };
}
