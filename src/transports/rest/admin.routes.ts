import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { EventLogReader } from '../../core/events/event-log-reader.js';
import type { StoredEvent } from '../../core/events/event.js';
import type { JobAdmin } from '../../core/jobs/job-admin.js';
import { type Job, jobStates } from '../../core/jobs/job.js';
import type { StatsService } from '../../core/stats/stats-service.js';
import type { RequestAuth } from '../request-auth.js';
import { isoTime } from './presenters.js';
import { IdParams, problems } from './schemas.js';

export interface AdminRoutesOptions {
  events: EventLogReader;
  jobs: JobAdmin;
  stats: StatsService;
  auth: RequestAuth;
}

const admin: Record<string, string[]>[] = [{ adminToken: [] }, { bearer: [] }];

const EventsQuery = Type.Object({
  // Bounded: a larger number reaches the database as a bigint out of range (a 500 on PostgreSQL).
  after: Type.Integer({
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    default: 0,
    description: 'The position of the last event already seen (0: from the start)',
  }),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
});
const EventSchema = Type.Object({
  position: Type.Integer(),
  type: Type.String(),
  actorId: Type.Union([Type.String(), Type.Null()]),
  subjectId: Type.String(),
  at: Type.String({ format: 'date-time' }),
  payload: Type.Record(Type.String(), Type.Unknown()),
});

const JobsQuery = Type.Object({
  state: Type.Optional(Type.Union(jobStates.map((state) => Type.Literal(state)))),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  before: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The last job id of the previous page' })),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
});
const JobSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  payload: Type.Unknown(),
  key: Type.Union([Type.String(), Type.Null()]),
  state: Type.String(),
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  runAt: Type.String({ format: 'date-time', description: 'Queued: when it is due. Running: when its lease ends.' }),
  leasedBy: Type.Union([Type.String(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const JobCounts = Type.Object(Object.fromEntries(jobStates.map((state) => [state, Type.Integer()])));

const StatsSchema = Type.Object({
  popularFormat: Type.Union([Type.Object({ format: Type.String(), uploads: Type.Integer() }), Type.Null()]),
  top10CameraModels: Type.Array(Type.Object({ model: Type.String(), uploads: Type.Integer() })),
  uploadFrequency30Days: Type.Array(Type.Object({ date: Type.String({ format: 'date' }), uploads: Type.Integer() })),
});

/** The admin endpoints of the operational backbone: the event log, the job table, the stats. */
export const adminRoutes: FastifyPluginAsyncTypebox<AdminRoutesOptions> = async (app, { events, jobs, stats, auth }) => {
  // Every route here is admin-only: users get 403, anonymous callers 401.
  app.addHook('onRequest', async (request) => auth.requireAdmin(request));

  app.get(
    '/admin/events',
    {
      schema: {
        tags: ['admin'],
        summary: 'The event log in order, after a position',
        security: admin,
        querystring: EventsQuery,
        response: {
          200: Type.Object({ events: Type.Array(EventSchema), nextAfter: Type.Integer({ description: 'Pass as `after` for the next page' }) }),
          ...problems(400, 401, 403),
        },
      },
    },
    async (request) => {
      const page = await events.page(request.query.after, request.query.limit);
      return { events: page.events.map(presentEvent), nextAfter: page.nextAfter };
    },
  );

  app.get(
    '/admin/jobs',
    {
      schema: {
        tags: ['admin'],
        summary: 'Background jobs, newest first (e.g. ?state=parked)',
        security: admin,
        querystring: JobsQuery,
        response: {
          200: Type.Object({ jobs: Type.Array(JobSchema), counts: JobCounts, nextBefore: Type.Union([Type.String(), Type.Null()]) }),
          ...problems(400, 401, 403),
        },
      },
    },
    async (request) => {
      const { limit } = request.query;
      const { jobs: page, counts } = await jobs.list(request.query);
      return { jobs: page.map(presentJob), counts, nextBefore: page.length === limit ? page[page.length - 1]!.id : null };
    },
  );

  app.get(
    '/admin/jobs/:id',
    {
      schema: { tags: ['admin'], summary: 'One job', security: admin, params: IdParams, response: { 200: JobSchema, ...problems(401, 403, 404) } },
    },
    async (request) => presentJob(await jobs.get(request.params.id)),
  );

  app.post(
    '/admin/jobs/:id/retry',
    {
      schema: {
        tags: ['admin'],
        summary: 'Queue a parked job again with fresh attempts',
        security: admin,
        params: IdParams,
        response: { 200: JobSchema, ...problems(401, 403, 404, 409) },
      },
    },
    async (request) => presentJob(await jobs.retry(request.params.id)),
  );

  app.get(
    '/admin/stats',
    {
      schema: {
        tags: ['admin'],
        summary: 'Upload statistics, counted over images',
        description:
          'The most uploaded format, the ten most frequent camera models (EXIF Model), and images created on each of the last 30 UTC days (today first).',
        security: admin,
        response: { 200: StatsSchema, ...problems(401, 403) },
      },
    },
    async () => stats.read(),
  );
};

function presentEvent(event: StoredEvent) {
  return {
    position: event.position,
    type: event.type,
    actorId: event.actorId,
    subjectId: event.subjectId,
    at: new Date(event.at).toISOString(),
    payload: event.payload,
  };
}

/** A job as admins see it; also what `imagegram jobs` prints. */
export function presentJob(job: Job) {
  return {
    id: job.id,
    name: job.name,
    payload: job.payload,
    key: job.key,
    state: job.state,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    runAt: new Date(job.runAt).toISOString(),
    leasedBy: job.leasedBy,
    lastError: job.lastError,
    createdAt: new Date(job.createdAt).toISOString(),
    updatedAt: new Date(job.updatedAt).toISOString(),
    finishedAt: isoTime(job.finishedAt),
  };
}
