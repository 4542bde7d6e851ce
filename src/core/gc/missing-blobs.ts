import pLimit from 'p-limit';
import { deleteClaimedBlob } from '../blobs/blob-deletion.js';
import type { BlobRecord } from '../blobs/blob-record.js';
import { derivativeKey, derivativesPrefix, originalKey } from '../images/blob-keys.js';
import { retireImage } from '../images/image-retirement.js';
import { BlobPresence } from './blob-presence.js';
import { type GcContext, gcBlobConcurrency, gcPageSize } from './gc-context.js';
import { countDetail, emptyKindReport, type GcKindReport } from './gc-report.js';

export interface MissingBlobOptions {
  /**
   * Retire rows even when more than `massMissingShare` of the checked blobs are missing, which
   * looks like an unmounted disk or a wrong bucket rather than lost files (`imagegram gc --force`).
   */
  force: boolean;
}

/** Above this share of missing blobs (and more than `massMissingFloor`), nothing is retired without --force. */
export const massMissingShare = 0.2;
const massMissingFloor = 10;

/**
 * Kind 2: rows whose blob vanished. A referenced blob found absent is marked (`BlobMissing`, once);
 * found absent again after the grace, its image rows are retired with their posts, then its
 * record and derivative go. A marked blob found present again is unmarked (`BlobRestored`). A
 * present original whose JPEG is missing gets a rendering job (`derivativesQueued`).
 */
export async function collectMissingBlobs(context: GcContext, options: MissingBlobOptions): Promise<GcKindReport> {
  const { store, blobs, now, graceMs, dryRun, signal } = context;
  const report = emptyKindReport('missing-blobs');
  const total = await store.blobRecords.count();
  const limit = pLimit(gcBlobConcurrency);
  const overdue: BlobRecord[] = [];
  let checked = 0;
  for await (const page of referencedBlobs(context)) {
    await Promise.all(
      page.map(({ record, original, derivative }) =>
        limit(async () => {
          signal?.throwIfAborted();
          checked += 1;
          if (original) {
            if (record.missingSince !== null) {
              countDetail(report, 'restored');
              if (!dryRun && (await store.blobRecords.clearMissing(record.sha256))) {
                await store.events.append({ type: 'BlobRestored', actorId: null, subjectId: record.sha256, payload: {} });
              }
            }
            if (!derivative) {
              countDetail(report, 'derivativesQueued');
              if (!dryRun)
                await store.jobs.enqueue(
                  { name: 'blob.render-derivative', payload: { sha256: record.sha256 }, key: `blob.render-derivative:${record.sha256}` },
                  now,
                );
            }
            return;
          }
          report.found += 1;
          if (record.missingSince === null) {
            countDetail(report, 'marked');
            if (!dryRun) await markMissing(context, record.sha256);
          } else if (record.missingSince <= now - graceMs) {
            overdue.push(record);
          }
        }),
      ),
    );
    context.progress({ kind: 'missing-blobs', done: checked, total });
  }
  if (overdue.length === 0) return report;
  if (!options.force && report.found > massMissingFloor && report.found > checked * massMissingShare) {
    report.note = `${report.found} of ${checked} blobs are missing: that looks like an unmounted disk or a wrong bucket, so no rows were retired (check the blob store, or run gc --force)`;
    return report;
  }
  for (const record of overdue) {
    signal?.throwIfAborted();
    if (dryRun) {
      report.removed += await store.images.countByHash(record.sha256);
      continue;
    }
    // Re-checked at the moment of decision, never from the list above.
    if (await blobs.head(originalKey(record.sha256))) continue;
    report.removed += await retireImagesOf(context, record.sha256);
    const claimedAt = Date.now();
    if (await store.blobRecords.claimForDeletion(record.sha256, now, claimedAt)) {
      report.bytesFreed += (await deleteClaimedBlob(context, record.sha256, 'blob-missing', claimedAt)).bytes;
    }
  }
  return report;
}

/**
 * Every referenced blob record, a page at a time, with whether its original and JPEG are in the
 * store. Presence comes from one pass over each listing beside the records (both by hash): a store
 * of present blobs costs a LIST per thousand rather than two HEADs per blob. What a listing did
 * not show is confirmed with a HEAD, so a stale listing or an unexpected order costs only requests.
 */
async function* referencedBlobs({ store, blobs, signal }: GcContext): AsyncGenerator<{ record: BlobRecord; original: boolean; derivative: boolean }[]> {
  const originals = new BlobPresence(blobs, 'originals/');
  const derivatives = new BlobPresence(blobs, derivativesPrefix);
  const limit = pLimit(gcBlobConcurrency);
  try {
    for (let after: string | null = null; ; ) {
      const page = await store.blobRecords.listReferenced(after, gcPageSize);
      const listed = [];
      // Sequential: each listing is walked once, in the records' order.
      for (const record of page) {
        signal?.throwIfAborted();
        listed.push({ record, original: await originals.seen(originalKey(record.sha256)), derivative: await derivatives.seen(derivativeKey(record.sha256)) });
      }
      yield await Promise.all(
        listed.map(async ({ record, original, derivative }) => ({
          record,
          original: original || (await limit(() => blobs.head(originalKey(record.sha256)))) !== null,
          derivative: derivative || (await limit(() => blobs.head(derivativeKey(record.sha256)))) !== null,
        })),
      );
      if (page.length < gcPageSize) return;
      after = page[page.length - 1]!.sha256;
    }
  } finally {
    await Promise.all([originals.close(), derivatives.close()]);
  }
}

async function markMissing({ store, now }: GcContext, sha256: string): Promise<void> {
  await store.transaction(async (tx) => {
    if (!(await tx.blobRecords.markMissing(sha256, now))) return;
    const images = await tx.images.findByHash(sha256);
    await tx.events.append({ type: 'BlobMissing', actorId: null, subjectId: sha256, payload: { imageIds: images.map((image) => image.id) } });
  });
}

/** Retires every image of the blob, if the record is still overdue and unpinned under its lock. */
async function retireImagesOf({ store, now, graceMs }: GcContext, sha256: string): Promise<number> {
  return store.transaction(async (tx) => {
    if (!(await tx.blobRecords.claimMissing(sha256, now - graceMs, now))) return 0;
    let retired = 0;
    for (const image of await tx.images.findByHash(sha256)) {
      if (await retireImage(tx, image, 'blob-missing', now)) retired += 1;
    }
    return retired;
  });
}
