import { originalKey } from '../images/blob-keys.js';
import type { IncompleteUploadRepair } from '../images/incomplete-upload-repair.js';
import { type GcContext, gcPageSize } from './gc-context.js';
import { countDetail, emptyKindReport, type GcKindReport } from './gc-report.js';

/**
 * Kind 1: image rows whose upload never completed, older than the grace. Each goes through read
 * repair: bytes present → completed (`repaired`), absent → retired with its posts (`removed`).
 */
export async function collectIncompleteImages(context: GcContext, repair: IncompleteUploadRepair): Promise<GcKindReport> {
  const { store, blobs, now, graceMs, dryRun, signal } = context;
  const report = emptyKindReport('incomplete-images');
  let after: string | null = null;
  for (;;) {
    const page = await store.images.listIncomplete(now - graceMs, after, gcPageSize);
    for (const image of page) {
      signal?.throwIfAborted();
      report.found += 1;
      if (dryRun) {
        if (await blobs.head(originalKey(image.sha256))) countDetail(report, 'repaired');
        else report.removed += 1;
        continue;
      }
      const { outcome } = await repair.repair(image, graceMs);
      if (outcome === 'removed') report.removed += 1;
      else if (outcome === 'completed') countDetail(report, 'repaired');
    }
    context.progress({ kind: 'incomplete-images', done: report.found, total: null });
    if (page.length < gcPageSize) break;
    after = page[page.length - 1]!.id;
  }
  return report;
}
