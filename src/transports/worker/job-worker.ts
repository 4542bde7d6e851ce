import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { type JobContext, type JobHandlers, LeaseLostError, retryDelayMs } from '../../core/jobs/job-handlers.js';
import { jobNames, type JobName, type LeasedJob, type NewJob } from '../../core/jobs/job.js';
import type { JobWakeup } from '../../core/jobs/job-wakeup.js';
import type { MetadataStore } from '../../ports/metadata-store.js';

/** A periodic job: enqueued once per interval across all worker processes. */
export interface JobSchedule {
  /** The schedule's name (one row in the schedules table). */
  name: string;
  intervalMs: number;
  job: NewJob;
}

export interface JobWorkerOptions {
  /** Jobs run at once. */
  concurrency: number;
  /** Lease length; extended every third of it while the job runs. */
  leaseMs: number;
  /** How often to look for due jobs when nothing woke the worker. */
  pollMs: number;
  /** Backoff of the first retry; doubles per attempt up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long `stop()` waits for running jobs before giving their leases back. */
  drainMs: number;
  schedules?: readonly JobSchedule[];
  now?: () => number;
}

let workerCount = 0;

/** Called after every job run, e.g. for metrics. */
export type JobObserver = (name: string, outcome: 'done' | 'retry' | 'parked' | 'lost' | 'released', seconds: number) => void;

/**
 * The job consumer: leases due jobs from the table, runs their handlers, and records the outcome
 * (done, retry with backoff, parked after the last attempt). Any number may run, in this process
 * or others, over one database. Also enqueues the periodic jobs (`schedules`) when they are due.
 */
export class JobWorker {
  readonly id = `${hostname()}:${process.pid}:${++workerCount}`;
  readonly #running = new Map<string, { job: LeasedJob; abort: AbortController; done: Promise<void> }>();
  readonly #now: () => number;
  #stopping = false;
  #loop: Promise<void> | null = null;
  #poke: (() => void) | null = null;
  #nextScheduleCheck = 0;
  #unsubscribe: (() => void) | null = null;

  constructor(
    private readonly deps: { store: MetadataStore; handlers: JobHandlers; logger: Logger; wakeup?: JobWakeup; observe?: JobObserver },
    private readonly options: JobWorkerOptions,
  ) {
    // Immich's rule: refuse to start with a job name nobody handles (the type system says so too).
    const missing = jobNames.filter((name) => typeof deps.handlers[name] !== 'function');
    if (missing.length > 0) throw new Error(`no handler for job(s): ${missing.join(', ')}`);
    this.#now = options.now ?? Date.now;
  }

  /** Starts polling; resolves at once. */
  start(): this {
    if (this.#loop) return this;
    this.#unsubscribe = this.deps.wakeup?.subscribe(() => this.#poke?.()) ?? null;
    this.#loop = this.#run().catch((error: unknown) => this.deps.logger.fatal({ err: error }, 'job worker loop crashed'));
    this.deps.logger.info({ worker: this.id, concurrency: this.options.concurrency }, 'job worker started');
    return this;
  }

  /**
   * Stops leasing, waits up to `drainMs` for running jobs, then aborts the rest and gives their
   * leases back so another worker takes them at once (release job leases on shutdown).
   */
  async stop(): Promise<void> {
    if (this.#stopping) return this.#loop ?? undefined;
    this.#stopping = true;
    this.#unsubscribe?.();
    this.#poke?.();
    // Let the loop finish its round first: jobs a lease in flight returns must be drained or released too.
    await this.#loop;
    const drained = Promise.all([...this.#running.values()].map((run) => run.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.drainMs)))]);
    clearTimeout(timer);
    for (const run of this.#running.values()) run.abort.abort(new Error('the worker is stopping'));
    const stopped = [...this.#running.values()];
    for (const { job } of stopped) {
      if (await this.deps.store.jobs.release(job.id, job.leaseToken, this.#now()).catch(() => false)) {
        this.deps.logger.info({ job: job.id, name: job.name }, 'gave back the lease of an unfinished job');
        this.deps.observe?.(job.name, 'released', 0);
      }
    }
    await this.#loop;
  }

  /** How many jobs this worker is running now. */
  get busy(): number {
    return this.#running.size;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        await this.#enqueueDueSchedules();
        const free = this.options.concurrency - this.#running.size;
        if (free > 0 && (await this.deps.store.jobs.hasDue(this.#now()))) {
          const leased = await this.deps.store.jobs.lease({ workerId: this.id, limit: free, now: this.#now(), leaseMs: this.options.leaseMs });
          for (const job of leased) this.#launch(job);
          if (leased.length > 0 && leased.length === free) continue;
        }
      } catch (error) {
        // The database is down or busy: keep running jobs going, try again after a poll interval.
        this.deps.logger.warn({ err: error }, 'job worker could not poll the job table');
      }
      if (!this.#stopping) await this.#idle();
    }
  }

  /** Resolves on a wakeup, a finished job, stop(), or after the poll interval. */
  #idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.options.pollMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#poke = null;
        resolve();
      }
      this.#poke = done;
    });
  }

  async #enqueueDueSchedules(): Promise<void> {
    const schedules = this.options.schedules ?? [];
    if (schedules.length === 0 || this.#now() < this.#nextScheduleCheck) return;
    this.#nextScheduleCheck = this.#now() + Math.min(5_000, ...schedules.map((schedule) => schedule.intervalMs));
    for (const schedule of schedules) {
      const now = this.#now();
      const enqueued = await this.deps.store.transaction(async (tx) => {
        if (!(await tx.jobs.claimSchedule(schedule.name, now, schedule.intervalMs))) return false;
        return (await tx.jobs.enqueue(schedule.job, now)).enqueued;
      });
      if (enqueued) this.deps.logger.debug({ schedule: schedule.name }, 'enqueued a periodic job');
    }
  }

  #launch(job: LeasedJob): void {
    const abort = new AbortController();
    const started = performance.now();
    const heartbeat = setInterval(
      () => {
        this.deps.store.jobs.extendLease(job.id, job.leaseToken, this.#now() + this.options.leaseMs).then(
          (held) => {
            if (!held) abort.abort(new LeaseLostError(job.id));
          },
          (error: unknown) => this.deps.logger.warn({ err: error, job: job.id }, 'could not extend a job lease'),
        );
      },
      Math.max(1_000, Math.floor(this.options.leaseMs / 3)),
    );
    heartbeat.unref();
    const done = this.#execute(job, abort)
      .then(
        (outcome) => {
          if (outcome !== null) this.deps.observe?.(job.name, outcome, (performance.now() - started) / 1000);
        },
        (error: unknown) => this.deps.logger.error({ err: error, job: job.id }, 'could not record a job outcome'),
      )
      .finally(() => {
        clearInterval(heartbeat);
        this.#running.delete(job.id);
        this.#poke?.();
      });
    this.#running.set(job.id, { job, abort, done });
  }

  /** Runs the handler and records what happened; null when stop() gives the lease back instead. */
  async #execute(job: LeasedJob, abort: AbortController): Promise<'done' | 'retry' | 'parked' | 'lost' | null> {
    const { store, logger } = this.deps;
    const handler = this.deps.handlers[job.name as JobName] as ((payload: unknown, context: JobContext) => Promise<void>) | undefined;
    if (!handler) {
      await store.jobs.park(job.id, job.leaseToken, `no handler for job "${job.name}" in this version`, this.#now());
      logger.error({ job: job.id, name: job.name }, 'parked a job nobody handles');
      return 'parked';
    }
    let completedInside = false;
    const context: JobContext = {
      job,
      signal: abort.signal,
      completeIn: async (tx) => {
        if (!(await tx.jobs.complete(job.id, job.leaseToken, this.#now()))) throw new LeaseLostError(job.id);
        completedInside = true;
      },
    };
    try {
      await handler(job.payload, context);
      if (!completedInside && !(await store.jobs.complete(job.id, job.leaseToken, this.#now()))) throw new LeaseLostError(job.id);
      logger.debug({ job: job.id, name: job.name }, 'job done');
      return 'done';
    } catch (error) {
      if (this.#stopping && abort.signal.aborted) return null;
      if (error instanceof LeaseLostError || abort.signal.reason instanceof LeaseLostError) {
        logger.warn({ job: job.id, name: job.name }, 'lost the lease of a running job; another worker has it');
        return 'lost';
      }
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const now = this.#now();
      if (job.attempts >= job.maxAttempts) {
        await store.jobs.park(job.id, job.leaseToken, message, now);
        logger.error({ err: error, job: job.id, name: job.name, attempts: job.attempts }, 'job failed its last attempt; parked');
        return 'parked';
      }
      const delay = retryDelayMs(job.attempts, this.options.retryBaseMs, this.options.retryMaxMs);
      await store.jobs.retryLater(job.id, job.leaseToken, message, now + delay, now);
      logger.warn({ err: error, job: job.id, name: job.name, attempts: job.attempts, retryInMs: delay }, 'job failed; will retry');
      return 'retry';
    }
  }
}
