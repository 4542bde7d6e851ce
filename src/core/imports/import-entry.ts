/** What became of one file of a bulk import, so a re-run skips it (`imagegram import`). */
export interface ImportEntry {
  ownerId: string;
  /** The file's absolute path when it was imported. */
  path: string;
  size: number;
  /** The file's mtime (epoch ms): a file changed since is imported again. */
  modifiedAt: number;
  outcome: 'imported' | 'duplicate' | 'rejected';
  /** The image it became, or null when rejected. */
  imageId: string | null;
  /** The rejection's error code and message, or null. */
  detail: string | null;
  recordedAt: number;
}
