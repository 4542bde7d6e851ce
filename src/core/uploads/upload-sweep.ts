import type { StoreSlice } from '../../ports/store-slice.js';
import type { UploadFiles } from '../../ports/upload-files.js';
import type { ResumableUpload } from './resumable-upload.js';

export interface UploadSweepDependencies {
  store: StoreSlice<'events' | 'uploads'>;
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
  /** Expired uploads read per query (default 500); a call removes all of them, batch after batch. */
  batchSize?: number;
}

export interface UploadSweepReport {
  /** Upload rows removed with their bytes (unfinished, and finished or used ones past expiry). */
  expired: number;
  /** Byte files that had no row. */
  orphans: number;
  /** Uploads whose bytes could not be removed this time (e.g. a write held them); tried again next call. */
  failed: number;
  /** Bytes the removed expired uploads had received. */
  bytes: number;
}

/**
 * Removes expired uploads, bytes first and then the row, so a crash in between leaves a row the
 * next sweep finds again (unfinished uploads expire and are removed), then byte files that
 * have no row. A plain function of the ports: the `uploads.sweep` job and garbage collection call it.
 *
 * Idempotent (removing what is gone is a no-op) and safe beside uploads in progress: it touches only
 * uploads past their expiry, which the protocol no longer accepts bytes for, never one a consume
 * holds, and removing bytes waits for a write still holding them.
 */
export async function sweepExpiredUploads(deps: UploadSweepDependencies, options: UploadSweepOptions): Promise<UploadSweepReport> {
  const { store, files } = deps;
  const { now, orphanAgeMs, batchSize = 500 } = options;
  const report: UploadSweepReport = { expired: 0, orphans: 0, failed: 0, bytes: 0 };

  const failed = new Set<string>();
  for (;;) {
    const batch = await store.uploads.listExpired(now, batchSize);
    const removedBefore = report.expired;
    await removeExpired(deps, batch, now, report, failed);
    // Uploads whose bytes could not be removed stay listed: stop rather than spin on them.
    if (batch.length < batchSize || report.expired === removedBefore) break;
  }
  report.failed = failed.size;

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

/** Removes each upload's bytes, then (if it is still expired and unclaimed) its row, with an event. */
async function removeExpired(
  { store, files }: UploadSweepDependencies,
  expired: ResumableUpload[],
  now: number,
  report: UploadSweepReport,
  failed: Set<string>,
): Promise<void> {
  for (const upload of expired) {
    try {
      await files.remove(upload.id);
    } catch {
      failed.add(upload.id);
      continue;
    }
    const removed = await store.transaction(async (tx) => {
      if (!(await tx.uploads.deleteExpired(upload.id, now))) return false;
      const payload = { received: upload.received, finished: upload.finishedAt !== null, consumed: upload.consumedAt !== null };
      await tx.events.append({ type: 'ResumableUploadExpired', actorId: null, subjectId: upload.id, payload });
      return true;
    });
    if (removed) {
      report.expired += 1;
      report.bytes += upload.received;
    }
  }
}

/**
 * Removes this store's upload bytes that have no row, whatever their age: the leftovers of a
 * process killed while creating one, and of uploads whose row the sweep deleted from another
 * process (which cannot reach bytes kept on this one's disk). Only for the start-up of a process
 * that owns the store alone (its data dir locked), before it accepts uploads: no row can still be
 * on its way for bytes it is creating. Resolves with how many it removed.
 */
export async function removeUnrecordedUploadFiles({ store, files }: UploadSweepDependencies, { batchSize = 500 } = {}): Promise<number> {
  const ids: string[] = [];
  for await (const stored of files.list()) ids.push(stored.id);
  let removed = 0;
  for (let start = 0; start < ids.length; start += batchSize) {
    const batch = ids.slice(start, start + batchSize);
    const tracked = new Set(await store.uploads.existingIds(batch));
    for (const id of batch.filter((candidate) => !tracked.has(candidate))) {
      await files.remove(id);
      removed += 1;
    }
  }
  return removed;
}
