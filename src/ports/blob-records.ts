import type { BlobRecord } from '../core/blobs/blob-record.js';
import type { Counter, CounterDelta, StatsDimension } from '../core/stats/upload-stats.js';
import type { ImportEntry } from '../core/imports/import-entry.js';

/** The result of `BlobRecordRepository.pin`. */
export type PinResult = 'pinned' | 'deleting';

/**
 * One row per stored blob (part of the MetadataStore, `MetadataRepositories.blobRecords`): the
 * lock and the facts garbage collection decides on. The protocol that keeps acknowledged bytes
 * safe from a concurrent collection:
 * - ingest `pin`s the hash before it writes or relies on any blob of it, and drops the pin in the
 *   transaction that inserts the image (`ImageRepository.insertOrGetExisting` clears
 *   `unreferencedSince`);
 * - collection `claimForDeletion`s a blob, which re-checks under the row's lock that no image
 *   references it and no live pin holds it, deletes the bytes, then `finishDeletion`s; the claim
 *   time fences both, so a claim taken over (`reclaimStuck`) stops its first holder.
 * A pin meeting a claimed blob returns `deleting`: the caller waits for the row to go and pins anew.
 */
export interface BlobRecordRepository {
  /**
   * Records the blob if it is unknown (unreferenced since `now`) and pins it until `until` with
   * the id `pinId`, unless collection has claimed it: then nothing changes and it returns `deleting`.
   */
  pin(sha256: string, size: number, pinId: string, now: number, until: number): Promise<PinResult>;
  /** Drops a pin; succeeds when it is already gone. */
  unpin(pinId: string): Promise<void>;
  /** The record of that hash, or null. */
  find(sha256: string): Promise<BlobRecord | null>;
  /** Those of `hashes` that have a record, in no particular order; one query. */
  existing(hashes: readonly string[]): Promise<string[]>;
  /**
   * Records a blob found in the store without a record, unreferenced since `unreferencedSince`
   * (its last write: nothing can have referenced it since, as ingest records blobs before writing
   * them); false if it had a record.
   */
  recordDiscovered(sha256: string, size: number, unreferencedSince: number, now: number): Promise<boolean>;
  /**
   * Sets `unreferencedSince = now` on up to `limit` live records, by hash after `after`, that no image
   * references and that are not yet marked; returns the last hash examined (null when done) and how
   * many it marked. A safety net for deletes that raced each other.
   */
  markUnreferenced(after: string | null, limit: number, now: number): Promise<{ last: string | null; marked: number }>;
  /** Up to `limit` live records unreferenced since at most `unreferencedBefore`, by hash after `after`. */
  listCollectable(unreferencedBefore: number, after: string | null, limit: number): Promise<BlobRecord[]>;
  /**
   * Up to `limit` live records marked referenced (`unreferencedSince` null), by hash after `after`:
   * after racing deletes on PostgreSQL that may include one no image references, until
   * `markUnreferenced` has run.
   */
  listReferenced(after: string | null, limit: number): Promise<BlobRecord[]>;
  /** Up to `limit` records claimed for deletion before `claimedBefore` (a collection that died mid-way). */
  listStuckDeleting(claimedBefore: number, limit: number): Promise<BlobRecord[]>;
  /**
   * Claims the blob for deletion (`state: deleting`) if, checked under the record's lock: it is
   * live, unreferenced since at most `unreferencedBefore`, no image references it and no pin holds
   * it at `now`. Returns whether it was claimed.
   */
  claimForDeletion(sha256: string, unreferencedBefore: number, now: number): Promise<boolean>;
  /**
   * Locks the record until commit and returns whether it is live, missing since at most
   * `missingBefore`, and held by no pin at `now`: then its images may be retired, in the same
   * transaction. An ingest re-uploading the bytes pins first, so it either wins or waits.
   */
  claimMissing(sha256: string, missingBefore: number, now: number): Promise<boolean>;
  /**
   * Takes over a claim made before `claimedBefore` (by a collection that died mid-way): its claim
   * time becomes `now`, so the old claimant, should it wake, no longer holds it. Whether it did.
   */
  reclaimStuck(sha256: string, claimedBefore: number, now: number): Promise<boolean>;
  /**
   * True while the record is claimed for deletion by the claim made at `claimedAt` (checked just
   * before each byte deletion: the claim time is the claimant's fencing token).
   */
  holdsClaim(sha256: string, claimedAt: number): Promise<boolean>;
  /** Deletes the record claimed at `claimedAt` (its bytes are gone); false when that claim is not held. */
  finishDeletion(sha256: string, claimedAt: number): Promise<boolean>;
  /** Sets `missingSince = now` unless already set; returns whether this call set it. */
  markMissing(sha256: string, now: number): Promise<boolean>;
  /** Clears `missingSince`; returns whether it was set. */
  clearMissing(sha256: string): Promise<boolean>;
  /** Deletes pins that expired by `now`; returns how many. */
  deleteExpiredPins(now: number): Promise<number>;
  /** How many records there are (live and deleting). */
  count(): Promise<number>;
}

/**
 * The admin stats projection (part of the MetadataStore, `MetadataRepositories.stats`): counters
 * per (dimension, value), and the event-log position they include. Advance and apply in ONE
 * transaction, so each event is counted exactly once.
 */
export interface StatsRepository {
  /** The last event position the counters include. */
  checkpoint(): Promise<number>;
  /**
   * Moves the checkpoint from `from` to `to`; false (and no change) when it is not at `from` any
   * more (another projector got there first). Locks the checkpoint until commit.
   */
  advance(from: number, to: number): Promise<boolean>;
  /** Adds the deltas to their counters (creating them at 0). */
  apply(deltas: readonly CounterDelta[]): Promise<void>;
  /** Up to `limit` counters of `dimension` with positive counts, highest first (ties by value, in the database's collation). */
  top(dimension: StatsDimension, limit: number): Promise<Counter[]>;
  /** The counters of `dimension` for those values (missing ones left out). */
  values(dimension: StatsDimension, values: readonly string[]): Promise<Counter[]>;
}

/** The bulk-import ledger (part of the MetadataStore, `MetadataRepositories.importLedger`). */
export interface ImportLedgerRepository {
  /** The owner's entries for those paths (missing ones left out); one query. */
  find(ownerId: string, paths: readonly string[]): Promise<ImportEntry[]>;
  /** Records (or replaces) the entry of `(ownerId, path)`. */
  record(entry: ImportEntry): Promise<void>;
}
