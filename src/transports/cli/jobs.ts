import { createApp } from '../../app.js';
import { isAppError } from '../../core/errors.js';
import { jobStates, type JobState } from '../../core/jobs/job.js';
import { presentJob } from '../rest/admin.routes.js';
import { fail, integerFlag, parseCommand } from './command-args.js';
import { formatTable } from './cli-output.js';
import { cliLogger } from './cli-logger.js';

export const jobsUsage = `  jobs [--state queued|running|done|parked] [--name <job name>] [--limit N] [--json]
            list background jobs, newest first, with counts per state (as GET /admin/jobs)
  jobs retry <id>
            queue a parked job again with fresh attempts`;

const flags = { state: { type: 'string' }, name: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } } as const;

/** `imagegram jobs` and `imagegram jobs retry <id>`. */
export async function jobsCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, flags);
  if (!parsed.ok) return fail('jobs', parsed.message);
  const [action, id, ...extra] = parsed.positionals;
  if (action !== undefined && (action !== 'retry' || id === undefined || extra.length > 0))
    return fail('jobs', 'usage: imagegram jobs [--state S] | imagegram jobs retry <id>');
  const state = parsed.flags.state;
  if (state !== undefined && !jobStates.includes(state as JobState)) return fail('jobs', `--state must be one of ${jobStates.join(', ')}`);
  const limit = integerFlag(parsed.flags.limit, 50);
  if (limit === null || limit < 1) return fail('jobs', '--limit must be a positive integer');
  const app = await createApp(parsed.config, cliLogger(parsed.config));
  try {
    if (action === 'retry') {
      const job = await app.services.jobs.retry(id!);
      process.stdout.write(`Job ${job.id} (${job.name}) is queued again.\n`);
      return 0;
    }
    const { jobs, counts } = await app.services.jobs.list({ state: state as JobState | undefined, name: parsed.flags.name, limit });
    if (parsed.flags.json) {
      process.stdout.write(`${JSON.stringify({ counts, jobs: jobs.map(presentJob) }, null, 2)}\n`);
      return 0;
    }
    const rows = jobs.map((job) => [
      job.id,
      job.name,
      job.state,
      `${job.attempts}/${job.maxAttempts}`,
      new Date(job.updatedAt).toISOString(),
      (job.lastError ?? '').slice(0, 80),
    ]);
    const table = rows.length > 0 ? formatTable(['id', 'name', 'state', 'attempts', 'updated', 'last error'], rows) : '(no jobs)';
    process.stdout.write(`${jobStates.map((name) => `${name} ${counts[name]}`).join(' · ')}\n${table}\n`);
    return 0;
  } catch (error) {
    if (isAppError(error)) return fail('jobs', error.message);
    throw error;
  } finally {
    await app.close();
  }
}
