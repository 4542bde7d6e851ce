import type { StoreSlice } from '../../ports/store-slice.js';
import type { JobWakeup } from './job-wakeup.js';

/** What `imagegram reprocess` queued. */
export interface ReprocessSummary {
  /** Blobs whose derivative will be rendered again. */
  derivatives: number;
  /** Images whose EXIF will be read again. */
  metadata: number;
  /** Jobs not added because the same one was already queued or running. */
  alreadyQueued: number;
}

/**
 * Queues the work that derives things from originals (`imagegram reprocess`): the 600×600 JPEG of
 * every referenced blob (after a recipe change or a lost derivatives directory), and optionally the
 * EXIF of every image. Jobs are keyed, so running it twice queues nothing twice.
 */
/** The jobs `enqueue` adds. */
const reprocessingJobs = ['blob.render-derivative', 'image.extract-metadata'] as const;

export class Reprocessing {
  constructor(
    private readonly deps: { store: StoreSlice<'blobRecords' | 'images' | 'jobs'>; wakeup?: JobWakeup },
    private readonly now: () => number = Date.now,
  ) {}

  async enqueue(options: { derivatives: boolean; metadata: boolean; onProgress?: (queued: number) => void }): Promise<ReprocessSummary> {
    const { store } = this.deps;
    const summary: ReprocessSummary = { derivatives: 0, metadata: 0, alreadyQueued: 0 };
    const report = () => options.onProgress?.(summary.derivatives + summary.metadata + summary.alreadyQueued);
    if (options.derivatives) {
      for (let after: string | null = null; ; ) {
        const page = await store.blobRecords.listReferenced(after, 500);
        await store.transaction(async (tx) => {
          for (const record of page) {
            const { enqueued } = await tx.jobs.enqueue(
              { name: 'blob.render-derivative', payload: { sha256: record.sha256 }, key: `blob.render-derivative:${record.sha256}` },
              this.now(),
            );
            if (enqueued) summary.derivatives += 1;
            else summary.alreadyQueued += 1;
          }
        });
        report();
        this.deps.wakeup?.notify();
        if (page.length < 500) break;
        after = page[page.length - 1]!.sha256;
      }
    }
    if (options.metadata) {
      for (let after: string | null = null; ; ) {
        const ids = await store.images.listIds(after, 500);
        await store.transaction(async (tx) => {
          for (const imageId of ids) {
            const { enqueued } = await tx.jobs.enqueue(
              { name: 'image.extract-metadata', payload: { imageId }, key: `image.extract-metadata:${imageId}` },
              this.now(),
            );
            if (enqueued) summary.metadata += 1;
            else summary.alreadyQueued += 1;
          }
        });
        report();
        this.deps.wakeup?.notify();
        if (ids.length < 500) break;
        after = ids[ids.length - 1]!;
      }
    }
    return summary;
  }

  /** True while a reprocessing job is queued or running (by any worker). */
  async inProgress(): Promise<boolean> {
    const { jobs } = this.deps.store;
    const found = await Promise.all(
      reprocessingJobs.flatMap((name) => [jobs.list({ name, state: 'queued', limit: 1 }), jobs.list({ name, state: 'running', limit: 1 })]),
    );
    return found.some((page) => page.length > 0);
  }

  /** How many reprocessing jobs were parked at or after `since` (epoch ms); counts up to 1,000 per kind. */
  async parkedSince(since: number): Promise<number> {
    const parked = await Promise.all(reprocessingJobs.map((name) => this.deps.store.jobs.list({ name, state: 'parked', limit: 1_000 })));
    return parked.flat().filter((job) => job.finishedAt !== null && job.finishedAt >= since).length;
  }
}
