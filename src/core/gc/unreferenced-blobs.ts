import pLimit from 'p-limit';
import { deleteClaimedBlob, finishStuckDeletion, stuckClaimMs } from '../blobs/blob-deletion.js';
import { derivativeKey, originalKey } from '../images/blob-keys.js';
import { type GcContext, gcBlobConcurrency, gcPageSize } from './gc-context.js';
import { countDetail, emptyKindReport, type GcKindReport } from './gc-report.js';

const sha256Pattern = /^[0-9a-f]{64}$/;

/**
 * Kind 3: blobs no image references, unreferenced for longer than the grace (e.g. after `DELETE
 * /images/{id}` of the last reference), and bytes in the store that no record knows of (left by a
 * crash, or by an older version). Every deletion is decided by `claimForDeletion`, which checks
 * references and ingest pins under the record's lock at that moment, never from the listing here.
 */
export async function collectUnreferencedBlobs(context: GcContext): Promise<GcKindReport> {
  const { store, now, graceMs, dryRun } = context;
  const report = emptyKindReport('unreferenced-blobs');
  if (!dryRun) await finishStuckDeletions(context, report);
  await discoverUnrecorded(context, report);
  if (!dryRun) {
    // A safety net: deletes racing on PostgreSQL can each leave the marking to the other.
    for (let after: string | null = null; ; ) {
      const { last } = await store.blobRecords.markUnreferenced(after, 5_000, now);
      if (last === null) break;
      after = last;
    }
  }
  const limit = pLimit(gcBlobConcurrency);
  let after: string | null = null;
  for (;;) {
    context.signal?.throwIfAborted();
    const page = await store.blobRecords.listCollectable(now - graceMs, after, gcPageSize);
    report.found += page.length;
    await Promise.all(
      page.map((record) =>
        limit(async () => {
          if (dryRun) {
            report.removed += 1;
            report.bytesFreed += await storedBytes(context, record.sha256);
          } else {
            const claimedAt = Date.now();
            if (!(await store.blobRecords.claimForDeletion(record.sha256, now - graceMs, claimedAt))) {
              countDetail(report, 'keptInUse');
              return;
            }
            report.removed += 1;
            report.bytesFreed += (await deleteClaimedBlob(context, record.sha256, 'unreferenced', claimedAt)).bytes;
          }
        }),
      ),
    );
    context.progress({ kind: 'unreferenced-blobs', done: report.found, total: null });
    if (page.length < gcPageSize) break;
    after = page[page.length - 1]!.sha256;
  }
  return report;
}

/** Finishes deletions a collection claimed and never completed (it crashed): bytes, then record. */
async function finishStuckDeletions(context: GcContext, report: ReturnType<typeof emptyKindReport>): Promise<void> {
  for (;;) {
    const stuck = await context.store.blobRecords.listStuckDeleting(context.now - stuckClaimMs, gcPageSize);
    for (const record of stuck) {
      // Taking the claim over moves it out of this list, whoever finishes it.
      const deletion = await finishStuckDeletion(context, record.sha256, Date.now());
      if (!deletion) continue;
      report.bytesFreed += deletion.bytes;
      countDetail(report, 'finishedStuck');
    }
    if (stuck.length < gcPageSize) return;
  }
}

/**
 * Originals and derivatives in the store that no record knows of, last written before the grace:
 * recorded as unreferenced since that write, so the collection below takes them. Ingest records a
 * blob before writing a byte of it, so nothing being written right now is among them. JPEGs of an
 * older recipe version are deleted outright once past the grace.
 */
async function discoverUnrecorded(context: GcContext, report: GcKindReport): Promise<void> {
  const { store, blobs, now, graceMs, dryRun, signal } = context;
  for (const prefix of ['originals/', 'derivatives/']) {
    let batch: { sha256: string; size: number; modifiedAt: number }[] = [];
    const flush = async () => {
      const known = new Set(await store.blobRecords.existing(batch.map((blob) => blob.sha256)));
      for (const blob of batch) {
        if (known.has(blob.sha256)) continue;
        countDetail(report, 'discovered');
        if (!dryRun) await store.blobRecords.recordDiscovered(blob.sha256, blob.size, blob.modifiedAt, now);
        else if (blob.modifiedAt <= now - graceMs) {
          report.found += 1;
          report.removed += 1;
          report.bytesFreed += blob.size;
        }
        known.add(blob.sha256);
      }
      batch = [];
    };
    for await (const info of blobs.list(prefix)) {
      signal?.throwIfAborted();
      if (info.modifiedAt > now - graceMs) continue;
      const name = info.key.slice(info.key.lastIndexOf('/') + 1);
      const sha256 = name.replace(/\.jpg$/, '');
      if (!sha256Pattern.test(sha256)) continue;
      if (prefix === 'derivatives/' && info.key !== derivativeKey(sha256)) {
        countDetail(report, 'staleDerivatives');
        report.bytesFreed += info.size;
        if (!dryRun) await blobs.delete(info.key);
        continue;
      }
      batch.push({ sha256, size: prefix === 'originals/' ? info.size : 0, modifiedAt: info.modifiedAt });
      if (batch.length >= gcPageSize) await flush();
    }
    await flush();
  }
}

/** What a blob occupies in the store now (original and derivative). */
async function storedBytes({ blobs }: GcContext, sha256: string): Promise<number> {
  const [original, derivative] = await Promise.all([blobs.head(originalKey(sha256)), blobs.head(derivativeKey(sha256))]);
  return (original?.size ?? 0) + (derivative?.size ?? 0);
}
