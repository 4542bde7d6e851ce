/**
 * Where an image's bytes live in the blob store. Keys are sharded by the first two byte pairs of
 * the SHA-256 (`ab/cd/abcd…`) so no directory or S3 prefix grows unboundedly.
 */
export function originalKey(sha256: string): string {
  return `originals/${shard(sha256)}`;
}

/**
 * Bump when the derivative recipe changes: new keys and ETags, so caches holding the old
 * rendering (immutable for a year) are never served the new one under the old name.
 */
export const derivativeVersion = 1;

/** Where every JPEG of the current recipe lives (older recipes' JPEGs sit beside it, for gc). */
export const derivativesPrefix = `derivatives/600-v${derivativeVersion}/`;

/** The 600×600 JPEG depends only on the original's bytes, so it is stored once per blob too. */
export function derivativeKey(sha256: string): string {
  return `${derivativesPrefix}${shard(sha256)}.jpg`;
}

/** A strong ETag for the derivative: same bytes in, same recipe, same JPEG out. */
export function derivativeEtag(sha256: string): string {
  return `"${sha256}-600-v${derivativeVersion}"`;
}

function shard(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
  return `${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}
