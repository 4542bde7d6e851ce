/**
 * Background jobs: rows in the database's job table, enqueued in the transaction of the
 * write that causes them, leased by workers with a timeout, retried with backoff, parked after
 * `maxAttempts`. A typed union of `{name, payload}` (the Immich idea): every name has a handler,
 * checked by the compiler and again when a worker starts.
 */
export interface JobPayloads {
  /** Reads EXIF (camera, taken-at, GPS) from an image's original into its row, for stats. */
  'image.extract-metadata': { imageId: string };
  /** Renders (again) the 600×600 JPEG of a blob from its original: `imagegram reprocess`, repairs. */
  'blob.render-derivative': { sha256: string };
  /** A garbage-collection run (periodic), with the configured grace unless one is given. */
  'gc.collect': { graceMs?: number };
  /** Brings the admin stats projection up to the end of the event log. */
  'stats.project': Record<string, never>;
  /** Removes expired resumable uploads (periodic). */
  'uploads.sweep': Record<string, never>;
  /** Deletes expired sessions, Idempotency-Keys and blob pins, and old finished jobs (periodic). */
  'records.expire': Record<string, never>;
}

export type JobName = keyof JobPayloads;

/** Every job name, for the start-up check that each has a handler. */
export const jobNames: readonly JobName[] = [
  'image.extract-metadata',
  'blob.render-derivative',
  'gc.collect',
  'stats.project',
  'uploads.sweep',
  'records.expire',
];

/** queued → running → done, or back to queued (retry, released lease), or parked after too many failures. */
export type JobState = 'queued' | 'running' | 'done' | 'parked';
export const jobStates: readonly JobState[] = ['queued', 'running', 'done', 'parked'];

/** A job to enqueue; `key` dedupes: while a queued or running job holds a key, another is not added. */
export type NewJob = {
  [N in JobName]: {
    name: N;
    payload: JobPayloads[N];
    key?: string | null;
    /** Epoch ms before which it must not run (default: now). */
    runAt?: number;
    /** Attempts before it is parked (default: the queue's). */
    maxAttempts?: number;
  };
}[JobName];

/** A job as stored. `name` is a string: a row may come from a newer version with a name we lack. */
export interface Job {
  id: string;
  name: string;
  payload: unknown;
  key: string | null;
  state: JobState;
  /** Leases taken so far, the current one included. */
  attempts: number;
  maxAttempts: number;
  /** Queued: when it becomes due. Running: when its lease ends. */
  runAt: number;
  /** The worker holding or last holding it (`host:pid:n`), or null. */
  leasedBy: string | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** A job leased to a worker; `leaseToken` fences every later state change to this lease. */
export interface LeasedJob extends Job {
  leaseToken: string;
}
