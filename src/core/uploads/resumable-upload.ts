/**
 * A resumable upload (tus) as the core tracks it. The bytes themselves live in `UploadFiles`; this
 * row is what makes ownership, expiry and "already used" hold across restarts and processes.
 */
export interface ResumableUpload {
  /** The protocol's upload id (128 random bits, hex): unguessable, and the `uploadId` clients send. */
  id: string;
  ownerId: string;
  /** The declared total length (`Upload-Length`), already checked against the size limit. */
  size: number;
  /** Bytes received as last recorded; while unfinished, the byte store is the authority. */
  received: number;
  /** SHA-256 (lower-case hex) of the assembled bytes, set when the upload finished. */
  sha256: string | null;
  createdAt: number;
  /** From this instant (epoch ms) the upload is refused and the sweep removes it. */
  expiresAt: number;
  finishedAt: number | null;
  /** While a request turns the upload into an image: until when it holds it (a crashed one lets go then). */
  claimedUntil: number | null;
  consumedAt: number | null;
  /** The image the upload became, once consumed. */
  imageId: string | null;
}
