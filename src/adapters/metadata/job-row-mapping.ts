import type { Selectable } from 'kysely';
import type { Job, JobState } from '../../core/jobs/job.js';
import type { JobsTable } from './schema.js';

/** Job rows become domain objects and back only here. */

export function jobFromRow(row: Selectable<JobsTable>): Job {
  return {
    id: row.id,
    name: row.name,
    payload: JSON.parse(row.payload) as unknown,
    key: row.key,
    // Only the queue writes this column, from the same closed union.
    state: row.state as JobState,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAt: row.run_at,
    leasedBy: row.leased_by,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

/** Error texts are kept short: a stack trace per retry would bloat the table. */
export function errorText(error: string): string {
  return error.length > 2_000 ? `${error.slice(0, 2_000)}…` : error;
}
