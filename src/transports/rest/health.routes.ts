import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { BlobStore } from '../../ports/blob-store.js';
import type { MetadataStore } from '../../ports/metadata-store.js';
import type { Metrics } from '../metrics.js';

export interface HealthRoutesOptions {
  store: MetadataStore;
  blobs: BlobStore;
  metrics: Metrics;
}

const Readiness = Type.Object({
  status: Type.String(),
  checks: Type.Object({ database: Type.String(), blobStore: Type.String() }),
});

/** Liveness, readiness and Prometheus metrics (SPEC §3). */
export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, { store, blobs, metrics }) => {
  app.get('/healthz', {
    schema: { tags: ['operations'], summary: 'Liveness: the process serves requests', response: { 200: Type.Object({ status: Type.String() }) } },
  }, async () => ({ status: 'ok' }));

  app.get('/readyz', {
    schema: { tags: ['operations'], summary: 'Readiness: database and blob store reachable', response: { 200: Readiness, 503: Readiness } },
  }, async (request, reply) => {
    const [database, blobStore] = await Promise.all([check(store.ping()), check(blobs.ping())]);
    if (database !== 'ok' || blobStore !== 'ok') request.log.warn({ database, blobStore }, 'not ready');
    const ready = database === 'ok' && blobStore === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: { database, blobStore } });
  });

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
};

async function check(probe: Promise<void>): Promise<string> {
  try {
    await probe;
    return 'ok';
  } catch (error) {
    return `failed: ${(error as Error).message}`;
  }
}
