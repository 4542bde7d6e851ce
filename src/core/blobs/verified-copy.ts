import { digestOf } from './stream-digest.js';
import type { Readable } from 'node:stream';
import type { BlobInfo, BlobStore } from '../../ports/blob-store.js';
import type { LedgerEntry } from '../../ports/migration-ledger.js';

/** How copying one object ended; `retries` counts copies redone after a failed check. */
export type CopyOutcome =
  | { kind: 'copied'; entry: LedgerEntry; retries: number }
  | { kind: 'vanished'; retries: number }
  | { kind: 'failed'; reason: string; retries: number };

const originalPattern = /^originals\/[0-9a-f]{2}\/[0-9a-f]{2}\/([0-9a-f]{64})$/;

/**
 * Copies `key` from `source` to `target` and proves it: the SHA-256 of the source bytes (for an
 * original, also its content address) must equal the SHA-256 of the object read back from the
 * target. A mismatch deletes the target's object and copies again, up to `maxAttempts`; then it is
 * reported, never accepted. A source rewritten during the copy (a derivative re-rendered) is copied
 * again without counting as a mismatch.
 */
export async function copyVerified(source: BlobStore, target: BlobStore, key: string, { maxAttempts }: { maxAttempts: number }): Promise<CopyOutcome> {
  const address = originalPattern.exec(key)?.[1];
  let retries = 0;
  let lastMismatch = '';
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const before = await source.head(key);
    if (!before) return { kind: 'vanished', retries };
    const local = await source.localFile(key);
    if (!local) return { kind: 'vanished', retries };
    let sourceHash: string;
    let created = false;
    try {
      sourceHash = (await hashOf(await source.createReadStream(key)))?.sha256 ?? '';
      if (sourceHash === '') return { kind: 'vanished', retries };
      if (address !== undefined && sourceHash !== address) {
        // Nothing to retry: the source itself no longer holds the bytes its key promises.
        return { kind: 'failed', reason: `the source's bytes hash to ${sourceHash}, not to their address (run imagegram verify)`, retries };
      }
      // putFile leaves an object already there alone: the read-back below decides whether it is right.
      ({ created } = await target.putFile(key, local.path));
    } catch (error) {
      // Deleted (garbage-collected) while being copied.
      if ((await source.head(key)) === null) return { kind: 'vanished', retries };
      throw error;
    } finally {
      await local.release();
    }
    const readBack = await hashOf(await target.createReadStream(key));
    const after = await source.head(key);
    if (!after) return { kind: 'vanished', retries };
    if (!sameVersion(before, after)) {
      // Rewritten while we copied: what we hashed may be either version, so copy the new one.
      if (readBack?.sha256 !== sourceHash) await target.delete(key);
      lastMismatch = '';
      continue;
    }
    if (readBack?.sha256 === sourceHash) {
      return { kind: 'copied', entry: { key, size: before.size, modifiedAt: before.modifiedAt, sha256: sourceHash }, retries };
    }
    lastMismatch =
      readBack === null
        ? 'the target does not hold the object after writing it'
        : `read back from the target it hashes to ${readBack.sha256}, the source to ${sourceHash}`;
    await target.delete(key);
    // A stale object found there (a JPEG rendered again since an earlier copy) is replaced, not a retry.
    if (attempt < maxAttempts && created) retries += 1;
  }
  return { kind: 'failed', reason: `SHA-256 mismatch after ${maxAttempts} attempts: ${lastMismatch || 'the source kept changing'}`, retries };
}

function sameVersion(a: BlobInfo, b: BlobInfo): boolean {
  return a.size === b.size && a.modifiedAt === b.modifiedAt;
}

async function hashOf(stream: Readable | null): Promise<{ sha256: string; size: number } | null> {
  return stream ? digestOf(stream) : null;
}
