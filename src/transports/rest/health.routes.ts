import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { BlobStore } from '../../ports/blob-store.js';
import type { MetadataStore } from '../../ports/metadata-store.js';
import type { StagingArea } from '../../ports/staging-area.js';
import type { Metrics } from '../metrics.js';
import { scrubDetail } from '../problem.js';

export interface HealthRoutesOptions {
  store: MetadataStore;
  blobs: BlobStore;
  staging: StagingArea;
  metrics: Metrics;
}

const Readiness = Type.Object({
  status: Type.String(),
  checks: Type.Object({
    database: Type.String(),
    blobStore: Type.String(),
    dataDir: Type.String({ description: 'The data directory takes writes (staging): "failed: …" when the disk is full or read-only' }),
  }),
});

/** Liveness, readiness and Prometheus metrics. */
export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, { store, blobs, staging, metrics }) => {
  app.get(
    '/healthz',
    {
      schema: { tags: ['operations'], summary: 'Liveness: the process serves requests', response: { 200: Type.Object({ status: Type.String() }) } },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: database and blob store reachable, data directory writable',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (request, reply) => {
      // Every upload is staged in the data dir first: a full disk there fails every upload even
      // when the database and an S3 blob store are fine, so take the instance out of rotation.
      const [database, blobStore, dataDir] = await Promise.all([check(store.ping()), check(blobs.ping()), check(staging.ping())]);
      const checks = { database, blobStore, dataDir };
      const ready = Object.values(checks).every((outcome) => outcome === 'ok');
      if (!ready) request.log.warn(checks, 'not ready');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
    },
  );

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
};

async function check(probe: Promise<void>): Promise<string> {
  try {
    await probe;
    return 'ok';
  } catch (error) {
    // Public endpoint: say what failed, never where on disk.
    return `failed: ${scrubDetail((error as Error).message)}`;
  }
}
