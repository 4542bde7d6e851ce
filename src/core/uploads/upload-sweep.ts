import type { MetadataStore } from '../../ports/metadata-store.js';
import type { UploadFiles } from '../../ports/upload-files.js';

export interface UploadSweepDependencies {
  store: MetadataStore;
  files: UploadFiles;
}

export interface UploadSweepOptions {
  /** The sweep's "now" (epoch ms): uploads with `expiresAt <= now` are removed. */
  now: number;
  /**
   * Stored bytes without a row are removed once untouched this long (ms). Rows are written before
   * their bytes are created, so only leftovers of a crash or a termination lack one; waiting the
   * upload expiry before touching them keeps the sweep clear of anything still being created.
   */
  orphanAgeMs: number;
  /** Most expired uploads removed per call; the next call continues (default 500). */
  batchSize?: number;
}

export interface UploadSweepReport {
  /** Upload rows removed with their bytes (unfinished, and finished or used ones past expiry). */
  expired: number;
  /** Byte files that had no row. */
  orphans: number;
  /** Uploads whose bytes could not be removed this time (e.g. a write held them); tried again next call. */
  failed: number;
  /** True when the batch was full: call again for the rest. */
  more: boolean;
}

/**
 * Removes expired uploads, bytes first and then the row, so a crash in between leaves a row the
 * next sweep finds again (SPEC §4: unfinished uploads expire and are removed). A plain function of
 * the ports, so any scheduler can call it: the in-process timer today, the job table later.
 *
 * Idempotent (removing what is gone is a no-op) and safe beside uploads in progress: it touches only
 * uploads past their expiry, which the protocol no longer accepts bytes for, never one a consume
 * holds, and removing bytes waits for a write still holding them.
 */
export async function sweepExpiredUploads(deps: UploadSweepDependencies, options: UploadSweepOptions): Promise<UploadSweepReport> {
  const { store, files } = deps;
  const { now, orphanAgeMs, batchSize = 500 } = options;
  const report: UploadSweepReport = { expired: 0, orphans: 0, failed: 0, more: false };

  const expired = await store.uploads.listExpired(now, batchSize);
  report.more = expired.length === batchSize;
  for (const upload of expired) {
    try {
      await files.remove(upload.id);
    } catch {
      report.failed += 1;
      continue;
    }
    const removed = await store.transaction(async (tx) => {
      if (!(await tx.uploads.deleteExpired(upload.id, now))) return false;
      const payload = { received: upload.received, finished: upload.finishedAt !== null, consumed: upload.consumedAt !== null };
      await tx.events.append({ type: 'ResumableUploadExpired', actorId: null, subjectId: upload.id, payload });
      return true;
    });
    if (removed) report.expired += 1;
  }

  const stale: string[] = [];
  for await (const stored of files.list()) {
    if (stored.modifiedAt <= now - orphanAgeMs) stale.push(stored.id);
  }
  const tracked = new Set(await store.uploads.existingIds(stale));
  for (const id of stale.filter((candidate) => !tracked.has(candidate))) {
    try {
      await files.remove(id);
      report.orphans += 1;
    } catch {
      report.failed += 1;
    }
  }
  return report;
}
