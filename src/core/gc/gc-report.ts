/** The kinds of garbage one collection looks for, in the order it handles them. */
export type GcKind = 'incomplete-images' | 'missing-blobs' | 'unreferenced-blobs' | 'staging-files' | 'expired-uploads';

/** What one kind of garbage amounted to. */
export interface GcKindReport {
  kind: GcKind;
  /** Candidates found (in a dry run: what a real run would act on). */
  found: number;
  /** Removed: image rows for the image kinds, blobs, files or uploads for the others (in a dry run: would remove). */
  removed: number;
  /** Bytes removed from storage (in a dry run: would free). */
  bytesFreed: number;
  /** Kind-specific counts, e.g. `repaired`, `marked`, `restored`, `derivativesQueued`. */
  details: Record<string, number>;
  /** Why something found was left alone (e.g. a safety limit), if it was. */
  note?: string;
}

/** The summary a collection prints (`imagegram gc`) and logs (the periodic job). */
export interface GcReport {
  dryRun: boolean;
  graceMs: number;
  startedAt: number;
  finishedAt: number;
  kinds: GcKindReport[];
  bytesFreed: number;
}

/** Progress of a long collection, for a progress bar: `total` is null when unknown. */
export interface GcProgress {
  kind: GcKind;
  done: number;
  total: number | null;
}

export function emptyKindReport(kind: GcKind): GcKindReport {
  return { kind, found: 0, removed: 0, bytesFreed: 0, details: {} };
}

/** Adds `n` to a kind's named detail count. */
export function countDetail(report: GcKindReport, name: string, n = 1): void {
  report.details[name] = (report.details[name] ?? 0) + n;
}
