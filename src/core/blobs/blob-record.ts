/**
 * What the metadata store knows of one stored blob, so garbage collection can decide from the
 * database, under its locks, instead of from a list of files that may be stale by the time it acts.
 */
export interface BlobRecord {
  sha256: string;
  size: number;
  /** `deleting` from the moment garbage collection claims it until its bytes are gone and the row with them. */
  state: 'live' | 'deleting';
  createdAt: number;
  /** Since when no image references it (null while one does). */
  unreferencedSince: number | null;
  /** Since when its original has been found missing from the blob store (null when present). */
  missingSince: number | null;
  /** When `state` last changed. */
  stateChangedAt: number;
}
