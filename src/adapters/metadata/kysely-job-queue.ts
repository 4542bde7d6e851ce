import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { newId } from '../../core/ids.js';
import { type Job, type JobState, jobStates, type LeasedJob, type NewJob } from '../../core/jobs/job.js';
import type { JobListQuery, JobQueue, LeaseRequest } from '../../ports/job-queue.js';
import { errorText, jobFromRow } from './job-row-mapping.js';
import type { MetadataDialect } from './metadata-dialect.js';
import type { Database } from './schema.js';

/** Attempts before a job is parked, when the job does not say. */
const defaultMaxAttempts = 5;

/**
 * The job table over Kysely. Leasing is one UPDATE of the rows a locking subquery picked (SKIP
 * LOCKED on PostgreSQL), and every later change is an UPDATE whose WHERE names the lease token,
 * so a worker that lost its lease can never complete or fail a job another worker now holds.
 */
export class KyselyJobQueue implements JobQueue {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async enqueue(job: NewJob, now: number): Promise<{ id: string; enqueued: boolean }> {
    const id = newId();
    const key = job.key ?? null;
    const inserted = await this.db
      .insertInto('jobs')
      .values({
        id,
        name: job.name,
        payload: JSON.stringify(job.payload),
        key,
        active_key: key,
        state: 'queued',
        attempts: 0,
        max_attempts: job.maxAttempts ?? defaultMaxAttempts,
        run_at: job.runAt ?? now,
        leased_by: null,
        lease_token: null,
        last_error: null,
        created_at: now,
        updated_at: now,
        finished_at: null,
      })
      .onConflict((oc) => oc.column('active_key').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) return { id, enqueued: true };
    const holder = await this.db.selectFrom('jobs').select('id').where('active_key', '=', key).executeTakeFirst();
    // The holder may have finished in between: then the caller's work is covered all the same.
    return { id: holder?.id ?? id, enqueued: false };
  }

  async hasDue(now: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('state', 'in', ['queued', 'running'])
      .where('run_at', '<=', now)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async lease({ workerId, limit, now, leaseMs }: LeaseRequest): Promise<LeasedJob[]> {
    const work = async (tx: Kysely<Database>): Promise<LeasedJob[]> => {
      // A lease that ran out means its worker died or hung; with no attempts left, stop here.
      await tx
        .updateTable('jobs')
        .set({
          state: 'parked',
          active_key: null,
          lease_token: null,
          finished_at: now,
          updated_at: now,
          last_error: 'its lease ran out with no attempts left (the worker stopped or hung)',
        })
        .where('state', '=', 'running')
        .where('run_at', '<=', now)
        .whereRef('attempts', '>=', 'max_attempts')
        .execute();
      const due = await this.dialect
        .lockRows(tx.selectFrom('jobs').select('id').where('state', 'in', ['queued', 'running']).where('run_at', '<=', now).orderBy('run_at').limit(limit), {
          skipLocked: true,
        })
        .execute();
      if (due.length === 0) return [];
      // Read first: RETURNING shows the new run_at, which no longer tells the due order.
      const dueOrder = new Map(due.map((row, index) => [row.id, index]));
      const leaseToken = randomUUID();
      const leased = await tx
        .updateTable('jobs')
        .set((eb) => ({
          state: 'running',
          attempts: eb('attempts', '+', 1),
          run_at: now + leaseMs,
          leased_by: workerId,
          lease_token: leaseToken,
          updated_at: now,
        }))
        .where(this.dialect.isIn('id', [...dueOrder.keys()]))
        .returningAll()
        .execute();
      return leased.map((row) => ({ ...jobFromRow(row), leaseToken })).sort((a, b) => dueOrder.get(a.id)! - dueOrder.get(b.id)!);
    };
    return this.db.isTransaction ? work(this.db) : this.db.transaction().execute(work);
  }

  async extendLease(id: string, leaseToken: string, until: number): Promise<boolean> {
    return this.changeLeased(id, leaseToken, { run_at: until });
  }

  async complete(id: string, leaseToken: string, now: number): Promise<boolean> {
    return this.changeLeased(id, leaseToken, { state: 'done', active_key: null, lease_token: null, finished_at: now, updated_at: now });
  }

  async retryLater(id: string, leaseToken: string, error: string, runAt: number, now: number): Promise<boolean> {
    return this.changeLeased(id, leaseToken, { state: 'queued', run_at: runAt, lease_token: null, last_error: errorText(error), updated_at: now });
  }

  async park(id: string, leaseToken: string, error: string, now: number): Promise<boolean> {
    return this.changeLeased(id, leaseToken, {
      state: 'parked',
      active_key: null,
      lease_token: null,
      last_error: errorText(error),
      finished_at: now,
      updated_at: now,
    });
  }

  async release(id: string, leaseToken: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('jobs')
      .set((eb) => ({ state: 'queued', run_at: now, lease_token: null, updated_at: now, attempts: eb('attempts', '-', 1) }))
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('lease_token', '=', leaseToken)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async findById(id: string): Promise<Job | null> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? jobFromRow(row) : null;
  }

  async list({ state, name, before, limit }: JobListQuery): Promise<Job[]> {
    let query = this.db.selectFrom('jobs').selectAll().orderBy('id', 'desc').limit(limit);
    if (state !== undefined) query = query.where('state', '=', state);
    if (name !== undefined) query = query.where('name', '=', name);
    if (before !== undefined) query = query.where('id', '<', before);
    return (await query.execute()).map(jobFromRow);
  }

  async countByState(): Promise<Record<JobState, number>> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['state', (eb) => eb.fn.countAll().as('count')])
      .groupBy('state')
      .execute();
    const counts = Object.fromEntries(jobStates.map((state) => [state, 0])) as Record<JobState, number>;
    for (const row of rows) if (row.state in counts) counts[row.state as JobState] = Number(row.count);
    return counts;
  }

  async requeue(id: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('jobs')
      .set({ state: 'queued', attempts: 0, run_at: now, finished_at: null, lease_token: null, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'parked')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async deleteFinished(before: number, limit: number): Promise<number> {
    const old = this.db.selectFrom('jobs').select('id').where('state', '=', 'done').where('finished_at', '<', before).limit(limit);
    const result = await this.db.deleteFrom('jobs').where('id', 'in', old).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async claimSchedule(name: string, now: number, intervalMs: number): Promise<boolean> {
    const recorded = await this.db
      .insertInto('job_schedules')
      .values({ name, next_run_at: now + intervalMs })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    if (Number(recorded.numInsertedOrUpdatedRows ?? 0n) > 0) return false;
    // One conditional UPDATE: of concurrent claimers, the row lock lets exactly one see it due.
    // "Shortened" means due more than two intervals away: a claimer whose clock was read a moment
    // before the one that recorded the schedule sees it a little over one interval away, and must
    // not take that for a shortened interval (two workers starting together enqueued a stray job).
    const claimed = await this.db
      .updateTable('job_schedules')
      .set({ next_run_at: now + intervalMs })
      .where('name', '=', name)
      .where((eb) => eb.or([eb('next_run_at', '<=', now), eb('next_run_at', '>', now + 2 * intervalMs)]))
      .executeTakeFirst();
    return claimed.numUpdatedRows > 0n;
  }

  private async changeLeased(
    id: string,
    leaseToken: string,
    changes: Partial<{ state: string; run_at: number; active_key: null; lease_token: null; last_error: string; finished_at: number; updated_at: number }>,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('jobs')
      .set(changes)
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('lease_token', '=', leaseToken)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
