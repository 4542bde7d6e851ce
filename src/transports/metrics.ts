import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isAppError } from '../core/errors.js';
import type { ImageIngested } from '../core/images/image-ingested.js';
import { jobStates } from '../core/jobs/job.js';
import type { MetadataStore } from '../ports/metadata-store.js';

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

  /**
   * Image uploads by outcome: `created`, `duplicate` or the error code; every ingest counts,
   * whatever carried the bytes (see observeIngest).
   */
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

  /** Uncaught exceptions and unhandled rejections the serving process logged and survived (process-guard.ts). */
  readonly processFaults = new Counter({
    name: 'imagegram_process_faults_total',
    help: 'Uncaught exceptions and unhandled rejections survived, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /** Job runs of this process's worker, by job name and outcome (done, retry, parked, lost, released). */
  readonly jobRuns = new Histogram({
    name: 'imagegram_job_duration_seconds',
    help: 'Job runs by name and outcome',
    labelNames: ['name', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [this.registry],
  });

  /** @param store when given, the job table's size per state is reported at each scrape (all processes' jobs). */
  constructor(store?: MetadataStore) {
    collectDefaultMetrics({ register: this.registry, prefix: 'imagegram_' });
    if (store) {
      new Gauge({
        name: 'imagegram_jobs',
        help: 'Jobs in the job table by state',
        labelNames: ['state'] as const,
        registers: [this.registry],
        async collect() {
          const counts = await store.jobs.countByState().catch(() => null);
          for (const state of jobStates) if (counts) this.set({ state }, counts[state]);
        },
      });
    }
  }

  /** Counts one ingest, as ImageIngest reports it for every transport, upload link and import. */
  observeIngest(event: ImageIngested): void {
    if (event.outcome === 'refused') {
      this.uploads.inc({ result: isAppError(event.error) ? event.error.code : 'error' });
      return;
    }
    this.uploads.inc({ result: event.outcome });
    this.uploadBytes.inc(event.size);
  }

  /** Records one job run. */
  observeJob(name: string, outcome: string, seconds: number): void {
    this.jobRuns.observe({ name, outcome }, seconds);
  }
}
