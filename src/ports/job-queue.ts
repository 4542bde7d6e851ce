import type { Job, JobState, LeasedJob, NewJob } from '../core/jobs/job.js';

/** What `JobQueue.lease` is asked for. */
export interface LeaseRequest {
  /** Who takes the lease (shown in `GET /admin/jobs`). */
  workerId: string;
  /** The most jobs to lease. */
  limit: number;
  /** Epoch ms. */
  now: number;
  /** How long the lease lasts unless extended. */
  leaseMs: number;
}

/** Filters for `JobQueue.list`. */
export interface JobListQuery {
  state?: JobState | undefined;
  name?: string | undefined;
  /** The last id of the previous page (jobs are listed newest first). */
  before?: string | undefined;
  limit: number;
}

/**
 * The job table (part of the MetadataStore, `MetadataRepositories.jobs`), so a job is enqueued in
 * the transaction of the write that causes it. Every state change after `lease` names the lease
 * (`id` + `leaseToken`) and is one conditional statement: a worker whose lease ran out and was
 * taken over changes nothing (returns false). Safe for any number of worker processes.
 */
export interface JobQueue {
  /**
   * Adds a queued job with a fresh id. With a `key`, nothing is added while another queued or
   * running job holds the same key: returns `{enqueued: false}` with that job's id.
   */
  enqueue(job: NewJob, now: number): Promise<{ id: string; enqueued: boolean }>;
  /** True when some job is due at `now` (a cheap read, to poll without taking write locks). */
  hasDue(now: number): Promise<boolean>;
  /**
   * Leases up to `limit` due jobs, oldest due first: queued ones with `runAt <= now`, and running
   * ones whose lease ended by `now` (their worker died). Each gets `state: running`, one more
   * attempt, `runAt = now + leaseMs` and a new lease token. A job whose lease ended with its
   * attempts used up is parked instead. Concurrent calls, from any process, never lease the same
   * job twice (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer at a time).
   */
  lease(request: LeaseRequest): Promise<LeasedJob[]>;
  /** Moves the lease's end to `until`; false when the lease is no longer held. */
  extendLease(id: string, leaseToken: string, until: number): Promise<boolean>;
  /** Marks it done and frees its key; false when the lease is no longer held. */
  complete(id: string, leaseToken: string, now: number): Promise<boolean>;
  /** Queues it again for `runAt`, recording `error`; false when the lease is no longer held. */
  retryLater(id: string, leaseToken: string, error: string, runAt: number, now: number): Promise<boolean>;
  /** Parks it (no more attempts) with `error` and frees its key; false when the lease is no longer held. */
  park(id: string, leaseToken: string, error: string, now: number): Promise<boolean>;
  /** Gives the lease back unfinished (graceful shutdown): queued again, due now, the attempt not counted. */
  release(id: string, leaseToken: string, now: number): Promise<boolean>;
  /** The job with that id, or null. */
  findById(id: string): Promise<Job | null>;
  /** Jobs newest first (id desc), filtered, strictly before the id `before`. */
  list(query: JobListQuery): Promise<Job[]>;
  /** How many jobs are in each state. */
  countByState(): Promise<Record<JobState, number>>;
  /** Queues a parked job again with its attempts reset (its key is not re-taken); false unless it was parked. */
  requeue(id: string, now: number): Promise<boolean>;
  /** Deletes up to `limit` done jobs finished before `before`; returns how many. */
  deleteFinished(before: number, limit: number): Promise<number>;
  /**
   * True for exactly one caller (across processes) per `intervalMs` for the schedule `name`: the
   * first call only records the schedule, due one interval later. A schedule due further away than
   * two intervals (the interval was shortened) is due at once; one a little over an interval away
   * (a concurrent first claim whose clock read a moment later) is not.
   */
  claimSchedule(name: string, now: number, intervalMs: number): Promise<boolean>;
}
