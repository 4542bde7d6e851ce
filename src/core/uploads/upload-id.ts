import { randomBytes } from 'node:crypto';

/** 128 random bits as lower-case hex: the only shape an upload id ever has. */
const uploadIdShape = /^[0-9a-f]{32}$/;

/** A new upload id: unguessable, and safe in a URL path and as a file name. */
export function newUploadId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * True when `value` could be an upload id. Anything else (other case, separators, encodings,
 * path segments) names no upload, so it is refused before any store is asked about it.
 */
export function isUploadId(value: string): boolean {
  return uploadIdShape.test(value);
}
