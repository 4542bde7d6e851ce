import type { BlobStore } from '../../ports/blob-store.js';
import type { StoreSlice } from '../../ports/store-slice.js';
import { derivativeKey, originalKey } from '../images/blob-keys.js';

/**
 * A deletion claim older than this belongs to a collection that died mid-way, and may be taken
 * over: a live one deletes two objects in milliseconds (seconds on a slow S3).
 */
export const stuckClaimMs = 10 * 60_000;

/**
 * A claimant deletes bytes only while its claim is younger than this. Half the takeover age, so
 * one that stalled (a paused VM, a hung request) stops before another can take its claim over,
 * with minutes to spare for clock skew between hosts.
 */
const claimUsableMs = stuckClaimMs / 2;

/** Why a blob's bytes went, as `BlobDeleted` records it. */
export type BlobDeletionReason = 'unreferenced' | 'blob-missing';

/** What deleting a claimed blob did. */
export interface BlobDeletion {
  /** Bytes freed (original and derivative). */
  bytes: number;
  /** False when the claim was lost or grew too old on the way: the rest is left to whoever holds it. */
  finished: boolean;
}

/**
 * Deletes the bytes of a blob this process claimed at `claimedAt` (`claimForDeletion` or
 * `reclaimStuck`), then its record, and logs `BlobDeleted`. Before each object goes, the claim is
 * checked to be still held and young enough (see `claimUsableMs`).
 */
export async function deleteClaimedBlob(
  deps: { store: StoreSlice<'blobRecords' | 'events'>; blobs: BlobStore; clock?: () => number },
  sha256: string,
  reason: BlobDeletionReason,
  claimedAt: number,
): Promise<BlobDeletion> {
  const { store, blobs } = deps;
  const clock = deps.clock ?? Date.now;
  let bytes = 0;
  for (const key of [derivativeKey(sha256), originalKey(sha256)]) {
    if (clock() - claimedAt >= claimUsableMs || !(await store.blobRecords.holdsClaim(sha256, claimedAt))) return { bytes, finished: false };
    bytes += (await blobs.head(key))?.size ?? 0;
    await blobs.delete(key);
  }
  const finished = await store.transaction(async (tx) => {
    if (!(await tx.blobRecords.finishDeletion(sha256, claimedAt))) return false;
    await tx.events.append({ type: 'BlobDeleted', actorId: null, subjectId: sha256, payload: { bytes, reason } });
    return true;
  });
  return { bytes, finished };
}

/**
 * Finishes a deletion whose claimant died (claimed before `now - stuckClaimMs`): takes the claim
 * over, then deletes as above. False when there was no such claim to take.
 */
export async function finishStuckDeletion(
  deps: { store: StoreSlice<'blobRecords' | 'events'>; blobs: BlobStore; clock?: () => number },
  sha256: string,
  now: number,
): Promise<BlobDeletion | null> {
  if (!(await deps.store.blobRecords.reclaimStuck(sha256, now - stuckClaimMs, now))) return null;
  return deleteClaimedBlob(deps, sha256, 'unreferenced', now);
}
