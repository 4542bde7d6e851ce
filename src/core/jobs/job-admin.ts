import type { JobListQuery } from '../../ports/job-queue.js';
import type { Repositories } from '../../ports/store-slice.js';
import { AppError } from '../errors.js';
import type { Job, JobState } from './job.js';
import type { JobWakeup } from './job-wakeup.js';

/** What admins see of and do to the job table (`GET /admin/jobs`, `imagegram jobs`). */
export class JobAdmin {
  constructor(
    private readonly deps: { store: Repositories<'jobs'>; wakeup?: JobWakeup },
    private readonly now: () => number = Date.now,
  ) {}

  /** Jobs newest first, with how many there are in each state. */
  async list(query: JobListQuery): Promise<{ jobs: Job[]; counts: Record<JobState, number> }> {
    const [jobs, counts] = await Promise.all([this.deps.store.jobs.list(query), this.deps.store.jobs.countByState()]);
    return { jobs, counts };
  }

  /** Throws NOT_FOUND. */
  async get(id: string): Promise<Job> {
    const job = await this.deps.store.jobs.findById(id);
    if (!job) throw new AppError('NOT_FOUND', `No job with id ${id}`);
    return job;
  }

  /** Queues a parked job again with fresh attempts. Throws NOT_FOUND, JOB_NOT_PARKED. */
  async retry(id: string): Promise<Job> {
    const job = await this.get(id);
    if (!(await this.deps.store.jobs.requeue(id, this.now()))) throw new AppError('JOB_NOT_PARKED', `Job ${id} is ${job.state}, not parked`);
    this.deps.wakeup?.notify();
    return this.get(id);
  }
}
