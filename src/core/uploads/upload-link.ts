/**
 * An expiring link through which anyone holding its token may upload images (kiosks,
 * events, partners). Only the token's SHA-256 is stored, like session tokens.
 */
export interface UploadLink {
  id: string;
  tokenHash: string;
  /**
   * The system user, created with the link, that owns every image uploaded through it (username
   * `link:<link id>`, a password hash nothing verifies against): admins find a link's images by it.
   */
  ownerId: string;
  createdAt: number;
  /** From this instant (epoch ms) the link answers 410. */
  expiresAt: number;
  /** Caps on what the link accepts in total, so a leaked link cannot fill the disk. */
  maxBytes: number;
  maxImages: number;
  /** What it has accepted so far; counted atomically against the caps. */
  usedBytes: number;
  usedImages: number;
}

/** The username of a link's system owner; the colon keeps it out of reach of sign-ups. */
export function linkOwnerUsername(linkId: string): string {
  return `link:${linkId}`;
}
