import { digestOf } from './stream-digest.js';
import pLimit from 'p-limit';
import type { BlobStore } from '../../ports/blob-store.js';
import type { Repositories } from '../../ports/store-slice.js';
import { originalKey } from '../images/blob-keys.js';

/** A stored original whose bytes no longer hash to its address. */
export interface CorruptBlob {
  key: string;
  /** The hash its key promises. */
  expected: string;
  /** The hash of the bytes found. */
  actual: string;
  size: number;
}

/** What `imagegram verify` found. */
export interface VerifyReport {
  /** Originals re-hashed. */
  checked: number;
  bytes: number;
  corrupt: CorruptBlob[];
  /** Hashes that images reference but whose original is not in the store. */
  missing: string[];
}

export interface VerifyOptions {
  /** Originals hashed at once (default 2: hashing is CPU, reading is I/O). */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called as originals are checked; `total` is the number of blob records (an estimate). */
  onProgress?: (progress: { done: number; total: number; bytes: number }) => void;
}

const sha256Pattern = /^[0-9a-f]{64}$/;

/**
 * Re-hashes every stored original (`imagegram verify`) and lists those whose bytes do not
 * match their content address, plus referenced blobs whose original is absent. Reads stream:
 * memory stays flat at any blob size.
 */
export class BlobVerification {
  constructor(private readonly deps: { store: Repositories<'blobRecords'>; blobs: BlobStore }) {}

  /** Checks every original; never changes anything. */
  verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyBlobs(this.deps, options);
  }
}

async function verifyBlobs(deps: { store: Repositories<'blobRecords'>; blobs: BlobStore }, options: VerifyOptions): Promise<VerifyReport> {
  const { store, blobs } = deps;
  const total = await store.blobRecords.count();
  const report: VerifyReport = { checked: 0, bytes: 0, corrupt: [], missing: [] };
  const limit = pLimit(options.concurrency ?? 2);
  const pending = new Set<Promise<void>>();
  let failure: unknown = null;
  for await (const info of blobs.list('originals/')) {
    options.signal?.throwIfAborted();
    const expected = info.key.slice(info.key.lastIndexOf('/') + 1);
    if (!sha256Pattern.test(expected) || info.key !== originalKey(expected)) continue;
    const check = limit(async () => {
      const actual = await hashOf(blobs, info.key);
      if (actual === null) return; // deleted (garbage-collected) since it was listed
      report.checked += 1;
      report.bytes += actual.size;
      if (actual.sha256 !== expected) report.corrupt.push({ key: info.key, expected, actual: actual.sha256, size: actual.size });
      options.onProgress?.({ done: report.checked, total: Math.max(total, report.checked), bytes: report.bytes });
    }).catch((error: unknown) => {
      failure ??= error;
    });
    pending.add(check);
    void check.then(() => pending.delete(check));
    // Bound what is queued too, so a store of millions is not listed into memory first.
    if (pending.size >= 64) await Promise.race(pending);
  }
  await Promise.all(pending);
  if (failure !== null) throw failure;
  for (let after: string | null = null; ; ) {
    const page = await store.blobRecords.listReferenced(after, 500);
    const present = await Promise.all(page.map((record) => blobs.head(originalKey(record.sha256))));
    page.forEach((record, index) => {
      if (!present[index]) report.missing.push(record.sha256);
    });
    if (page.length < 500) break;
    after = page[page.length - 1]!.sha256;
  }
  report.corrupt.sort((a, b) => a.key.localeCompare(b.key));
  return report;
}

async function hashOf(blobs: BlobStore, key: string): Promise<{ sha256: string; size: number } | null> {
  const stream = await blobs.createReadStream(key);
  return stream ? digestOf(stream) : null;
}
