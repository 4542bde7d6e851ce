import pLimit from 'p-limit';
import type { BlobInfo, BlobStore } from '../../ports/blob-store.js';
import type { LedgerEntry, MigrationLedger } from '../../ports/migration-ledger.js';
import { isAppError } from '../errors.js';
import { copyVerified, type CopyOutcome } from './verified-copy.js';

/** What one `imagegram migrate-storage` run did (or, with `dryRun`, would do). */
export interface MigrationReport {
  dryRun: boolean;
  /** Objects in the source at the first listing. */
  listed: number;
  /** Of those, copied and verified by an earlier run and unchanged since. */
  alreadyCopied: number;
  /** Copied and verified by this run (dry run: would copy), with their bytes. */
  copied: number;
  bytes: number;
  /** Per key namespace (`originals`, `derivatives`…): copied (or to copy) by this run. */
  byNamespace: Record<string, { objects: number; bytes: number }>;
  /** Deleted from the source (garbage-collected) before they could be copied. */
  vanished: number;
  /** Copies that failed their check once and were made again. */
  retried: number;
  /** Objects not copied: a hash that never matched, a corrupt source, a store error. */
  failed: MigrationFailure[];
  /** Listing passes made (new objects written meanwhile are picked up by the next one). */
  rounds: number;
  /** Objects in the source, at the last listing, that are not copied yet (written during the run). */
  left: number;
  /** Dry run only: the keys that would be copied. */
  pending: string[];
}

export interface MigrationFailure {
  key: string;
  reason: string;
}

export interface MigrationOptions {
  dryRun?: boolean;
  /** Objects copied at once; default 4. */
  concurrency?: number;
  /** Attempts per object when the read-back hash does not match; default 3. */
  maxAttempts?: number;
  /** Ignore the ledger: read back and hash every object in the target again (and copy what is wrong or absent). */
  recheck?: boolean;
  /** Listings at most, each copying what the previous ones missed; default 3. */
  maxRounds?: number;
  signal?: AbortSignal;
  onProgress?: (progress: { round: number; done: number; total: number; bytes: number }) => void;
}

/**
 * Copies every object of one blob store into another while servers keep using the source, and
 * proves each copy: the SHA-256 of the bytes read back from the target must equal the source's
 * (and, for an original, its content address). Each verified copy is recorded in a ledger, so a
 * run stopped at any point (even `kill -9`) resumes where it was, and a later run copies only what
 * was written since. A run ends with a listing that finds nothing left, or reports what is left.
 */
export class StorageMigration {
  constructor(private readonly deps: { source: BlobStore; target: BlobStore; ledger: MigrationLedger }) {}

  async run(options: MigrationOptions = {}): Promise<MigrationReport> {
    const { ledger } = this.deps;
    const dryRun = options.dryRun ?? false;
    const maxRounds = dryRun ? 1 : (options.maxRounds ?? 3);
    const report: MigrationReport = {
      dryRun,
      listed: 0,
      alreadyCopied: 0,
      copied: 0,
      bytes: 0,
      byNamespace: {},
      vanished: 0,
      retried: 0,
      failed: [],
      rounds: 0,
      left: 0,
      pending: [],
    };
    const copied = options.recheck ? new Map<string, LedgerEntry>() : await ledger.load();
    // Fail fast, with the store's own message, on a bucket that cannot be written (a dry run writes nothing).
    if (!dryRun) await this.deps.target.ping();
    const settled = new Set<string>();
    for (;;) {
      options.signal?.throwIfAborted();
      const { listed, pending } = await this.pendingObjects(copied, settled);
      if (report.rounds === 0) {
        report.listed = listed;
        report.alreadyCopied = listed - pending.length;
      }
      if (pending.length === 0 || report.rounds >= maxRounds) {
        report.left = dryRun ? 0 : pending.length;
        break;
      }
      report.rounds += 1;
      if (dryRun) {
        for (const info of pending) count(report, info);
        report.pending = pending.map((info) => info.key);
        report.left = pending.length;
        break;
      }
      await this.copyAll(pending, report, copied, settled, options);
    }
    return report;
  }

  /** Source objects the ledger does not hold as they are now (new, or rewritten since their copy). */
  private async pendingObjects(copied: Map<string, LedgerEntry>, settled: Set<string>): Promise<{ listed: number; pending: BlobInfo[] }> {
    let listed = 0;
    const pending: BlobInfo[] = [];
    for await (const info of this.deps.source.list('')) {
      listed += 1;
      const entry = copied.get(info.key);
      if (entry && entry.size === info.size && entry.modifiedAt === info.modifiedAt) continue;
      // Failed or vanished in this run: reported once, not chased round after round.
      if (settled.has(info.key)) continue;
      pending.push(info);
    }
    return { listed, pending };
  }

  private async copyAll(
    pending: BlobInfo[],
    report: MigrationReport,
    copied: Map<string, LedgerEntry>,
    settled: Set<string>,
    options: MigrationOptions,
  ): Promise<void> {
    const { source, target, ledger } = this.deps;
    const limit = pLimit(options.concurrency ?? 4);
    let done = 0;
    options.onProgress?.({ round: report.rounds, done, total: pending.length, bytes: report.bytes });
    // allSettled, not all: on abort the copies in flight finish (and are recorded) before the run returns.
    const results = await Promise.allSettled(
      pending.map((info) =>
        limit(async () => {
          options.signal?.throwIfAborted();
          const outcome = await copyRetryingOutages(source, target, info.key, options.maxAttempts ?? 3).catch((error: unknown) => ({
            kind: 'failed' as const,
            reason: error instanceof Error ? error.message : String(error),
            retries: 0,
          }));
          report.retried += outcome.retries;
          if (outcome.kind === 'copied') {
            // Recorded only now, after the read-back matched: the ledger never promises an unverified copy.
            await ledger.record(outcome.entry);
            copied.set(info.key, outcome.entry);
            count(report, { key: info.key, size: outcome.entry.size });
          } else if (outcome.kind === 'vanished') {
            report.vanished += 1;
            settled.add(info.key);
          } else {
            report.failed.push({ key: info.key, reason: outcome.reason });
            settled.add(info.key);
          }
          done += 1;
          options.onProgress?.({ round: report.rounds, done, total: pending.length, bytes: report.bytes });
        }),
      ),
    );
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  }
}

/**
 * copyVerified, tried again after a moment when a store is briefly unavailable (a loaded gateway
 * timing out): a long copy should not end in failures a second later would not have had.
 */
async function copyRetryingOutages(source: BlobStore, target: BlobStore, key: string, maxAttempts: number): Promise<CopyOutcome> {
  for (let outage = 1; ; outage++) {
    try {
      return await copyVerified(source, target, key, { maxAttempts });
    } catch (error) {
      if (outage >= 4 || !(isAppError(error) && error.code === 'STORAGE_UNAVAILABLE')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** outage));
    }
  }
}

function count(report: MigrationReport, info: { key: string; size: number }): void {
  report.copied += 1;
  report.bytes += info.size;
  const namespace = info.key.split('/')[0]!;
  const entry = (report.byNamespace[namespace] ??= { objects: 0, bytes: 0 });
  entry.objects += 1;
  entry.bytes += info.size;
}
