import type { Repositories } from '../../ports/store-slice.js';
import type { JobName, JobPayloads, LeasedJob } from './job.js';

/** What a handler is told about the job it runs. */
export interface JobContext {
  readonly job: LeasedJob;
  /** Aborted when the lease is lost or the worker is stopping: stop soon, between steps. */
  readonly signal: AbortSignal;
  /**
   * Marks the job done inside the handler's own transaction, so its effect and its completion
   * commit together (exactly once, even if the lease ran out meanwhile: then this throws
   * LeaseLostError and the transaction rolls back). Handlers that don't call it are completed
   * after they return, which suits idempotent work.
   */
  completeIn(tx: Repositories<'jobs'>): Promise<void>;
}

/** Runs one job; throwing means "failed, retry with backoff" (parked after its last attempt). */
export type JobHandler<N extends JobName> = (payload: JobPayloads[N], context: JobContext) => Promise<void>;

/** One handler per job name: the compiler refuses a registry that lacks one. */
export type JobHandlers = { [N in JobName]: JobHandler<N> };

/** The lease was taken over by another worker (this one was too slow, or stopped). */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
  constructor(jobId: string) {
    super(`the lease on job ${jobId} was lost`);
  }
}

/**
 * Exponential backoff with jitter: the n-th failed attempt waits about `baseMs · 2^(n-1)`, capped
 * at `maxMs`, randomised down to half so that jobs failing together do not retry in lockstep.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.5 + random() / 2));
}
