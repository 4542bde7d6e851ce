import type { BlobStore } from '../../ports/blob-store.js';
import type { StagingArea } from '../../ports/staging-area.js';
import type { UploadFiles } from '../../ports/upload-files.js';
import type { IncompleteUploadRepair } from '../images/incomplete-upload-repair.js';
import { sweepExpiredUploads } from '../uploads/upload-sweep.js';
import type { GcContext, GcStore } from './gc-context.js';
import { emptyKindReport, type GcKindReport, type GcProgress, type GcReport } from './gc-report.js';
import { collectIncompleteImages } from './incomplete-images.js';
import { collectMissingBlobs } from './missing-blobs.js';
import { collectUnreferencedBlobs } from './unreferenced-blobs.js';

export interface GarbageCollectorDependencies {
  store: GcStore;
  blobs: BlobStore;
  staging: StagingArea;
  uploadFiles: UploadFiles;
  repair: IncompleteUploadRepair;
}

export interface GcRunOptions {
  /** How long garbage must have been garbage before it goes. */
  graceMs: number;
  /** Report what would be removed; change nothing. */
  dryRun?: boolean;
  /** Retire rows of missing blobs even when suspiciously many are missing (see missing-blobs.ts). */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: GcProgress) => void;
}

export interface GarbageCollectorOptions {
  /**
   * Staging files untouched for less than this are never removed, whatever the grace: an upload
   * still streaming writes its file, and one being processed holds it at most this long (the
   * HTTP request timeout).
   */
  stagingMinAgeMs: number;
  /** Unfinished resumable uploads left without a record for this long are removed (their expiry). */
  uploadOrphanAgeMs: number;
  now?: () => number;
}

/**
 * Garbage collection (`imagegram gc` and the periodic `gc.collect` job): (1) image rows
 * whose upload never completed, (2) rows whose blob vanished, (3) blobs nothing references,
 * (4) expired staging files and resumable uploads. Safe beside a server taking uploads: nothing
 * is deleted on the strength of a listing; each deletion is re-decided against the store (under a
 * lock where another writer could interfere) at the moment it happens.
 */
export class GarbageCollector {
  private readonly now: () => number;

  constructor(
    private readonly deps: GarbageCollectorDependencies,
    private readonly options: GarbageCollectorOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Runs one collection and returns its summary. Throws an AbortError when `signal` aborts. */
  async collect(run: GcRunOptions): Promise<GcReport> {
    const startedAt = this.now();
    const context: GcContext = {
      store: this.deps.store,
      blobs: this.deps.blobs,
      now: startedAt,
      graceMs: run.graceMs,
      dryRun: run.dryRun ?? false,
      signal: run.signal,
      progress: run.onProgress ?? (() => {}),
    };
    // Never judge blobs missing against a store that cannot be reached.
    await this.deps.blobs.ping();
    const kinds: GcKindReport[] = [];
    kinds.push(await collectIncompleteImages(context, this.deps.repair));
    kinds.push(await collectMissingBlobs(context, { force: run.force ?? false }));
    kinds.push(await collectUnreferencedBlobs(context));
    kinds.push(await this.collectStagingFiles(context));
    kinds.push(await this.collectExpiredUploads(context));
    return {
      dryRun: context.dryRun,
      graceMs: run.graceMs,
      startedAt,
      finishedAt: this.now(),
      kinds,
      bytesFreed: kinds.reduce((sum, kind) => sum + kind.bytesFreed, 0),
    };
  }

  private async collectStagingFiles(context: GcContext): Promise<GcKindReport> {
    const report = emptyKindReport('staging-files');
    const stale = await this.deps.staging.listStale(context.now - Math.max(context.graceMs, this.options.stagingMinAgeMs));
    for (const file of stale) {
      context.signal?.throwIfAborted();
      report.found += 1;
      report.removed += 1;
      report.bytesFreed += file.size;
      if (!context.dryRun) await this.deps.staging.remove(file.path);
    }
    context.progress({ kind: 'staging-files', done: report.found, total: report.found });
    return report;
  }

  private async collectExpiredUploads(context: GcContext): Promise<GcKindReport> {
    const report = emptyKindReport('expired-uploads');
    const { store } = this.deps;
    if (context.dryRun) {
      const expired = await store.uploads.listExpired(context.now, 10_000);
      report.found = expired.length;
      report.removed = expired.length;
      report.bytesFreed = expired.reduce((sum, upload) => sum + upload.received, 0);
      return report;
    }
    const swept = await sweepExpiredUploads({ store, files: this.deps.uploadFiles }, { now: context.now, orphanAgeMs: this.options.uploadOrphanAgeMs });
    report.found = swept.expired + swept.orphans + swept.failed;
    report.removed = swept.expired + swept.orphans;
    report.bytesFreed = swept.bytes;
    if (swept.failed > 0) report.details.failed = swept.failed;
    context.progress({ kind: 'expired-uploads', done: report.found, total: report.found });
    return report;
  }
}
