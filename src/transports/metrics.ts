import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The process's Prometheus metrics, served at GET /metrics. One instance per app (tests run several). */
export class Metrics {
  readonly registry = new Registry();

  /** Latency of every HTTP request by route template (not raw URL, to bound cardinality). */
  readonly httpDuration = new Histogram({
    name: 'imagegram_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [this.registry],
  });

  /** Image uploads by outcome: `created`, `duplicate` or the error code. */
  readonly uploads = new Counter({
    name: 'imagegram_uploads_total',
    help: 'Image uploads by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /** Bytes of originals accepted (duplicates included: they crossed the wire too). */
  readonly uploadBytes = new Counter({
    name: 'imagegram_upload_bytes_total',
    help: 'Bytes of accepted image uploads',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'imagegram_' });
  }
}
