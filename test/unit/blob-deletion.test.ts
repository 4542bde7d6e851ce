import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FsBlobStore } from '../../src/adapters/blob/fs-blob-store.js';
import { openSqliteMetadataStore } from '../../src/adapters/metadata/sqlite.js';
import { deleteClaimedBlob, stuckClaimMs } from '../../src/core/blobs/blob-deletion.js';
import { BlobPins } from '../../src/core/blobs/blob-pins.js';
import { isAppError } from '../../src/core/errors.js';
import { collectUnreferencedBlobs } from '../../src/core/gc/unreferenced-blobs.js';
import { derivativeKey, originalKey } from '../../src/core/images/blob-keys.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';

const minute = 60_000;

/**
 * Deletion claims left by a collector that died mid-way, over a real SQLite file and a real blob
 * directory: an ingest meeting one finishes it instead of failing, a collection finishes it too,
 * and a claimant that stalled past half the takeover age stops deleting.
 */
describe('deletion claims: fenced by their claim time, taken over once stuck', () => {
  let dir: string;
  let store: MetadataStore;
  let blobs: FsBlobStore;
  let seed = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-claims-'));
    store = openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    await store.migrate();
    blobs = new FsBlobStore(join(dir, 'blobs'));
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A stored, unreferenced blob (original and JPEG) claimed for deletion at `claimedAt`. */
  async function claimedBlob(claimedAt: number): Promise<string> {
    const bytes = Buffer.from(`blob ${(seed += 1)} ${Math.random()}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const file = join(dir, `${sha256}.bin`);
    await writeFile(file, bytes);
    const pinId = `pin-${seed}`;
    assert.equal(await store.blobRecords.pin(sha256, bytes.length, pinId, claimedAt - minute, claimedAt + minute), 'pinned');
    await blobs.putFile(originalKey(sha256), file);
    await blobs.put(derivativeKey(sha256), Buffer.from('jpeg'));
    await store.blobRecords.unpin(pinId);
    assert.equal(await store.blobRecords.claimForDeletion(sha256, claimedAt, claimedAt), true);
    return sha256;
  }
  const present = async (sha256: string) => [await blobs.head(originalKey(sha256)), await blobs.head(derivativeKey(sha256))].map((info) => info !== null);
  const deletedEvents = async (sha256: string) =>
    (await store.events.list(0, 1000)).filter((event) => event.type === 'BlobDeleted' && event.subjectId === sha256);

  test('an ingest meeting a claim older than the takeover age finishes that deletion and pins the blob anew', async () => {
    const now = Date.now();
    const sha256 = await claimedBlob(now - stuckClaimMs - 1);
    const pins = new BlobPins({ store, blobs }, { waitMs: 0 });
    const pin = await pins.pin(sha256, 10);
    assert.deepEqual(await present(sha256), [false, false], 'the dead collector’s deletion was finished');
    const record = await store.blobRecords.find(sha256);
    assert.equal(record?.state, 'live');
    assert.equal((await deletedEvents(sha256)).length, 1);
    await pin.release();
  });

  test('an ingest meeting a live claim waits, then gives up with STORAGE_UNAVAILABLE, leaving the claim alone', async () => {
    const sha256 = await claimedBlob(Date.now() - minute);
    const pins = new BlobPins({ store, blobs }, { waitMs: 100 });
    await assert.rejects(pins.pin(sha256, 10), (error: unknown) => isAppError(error) && error.code === 'STORAGE_UNAVAILABLE');
    assert.equal((await store.blobRecords.find(sha256))?.state, 'deleting');
    assert.deepEqual(await present(sha256), [true, true]);
  });

  test('a claimant whose claim was taken over deletes nothing more and leaves the record to the new holder', async () => {
    const claimedAt = Date.now() - stuckClaimMs - 1;
    const sha256 = await claimedBlob(claimedAt);
    const takenAt = Date.now();
    assert.equal(await store.blobRecords.reclaimStuck(sha256, takenAt - stuckClaimMs, takenAt), true);
    const stale = await deleteClaimedBlob({ store, blobs }, sha256, 'unreferenced', claimedAt);
    assert.deepEqual(stale, { bytes: 0, finished: false });
    assert.deepEqual(await present(sha256), [true, true]);
    const current = await deleteClaimedBlob({ store, blobs }, sha256, 'unreferenced', takenAt);
    assert.equal(current.finished, true);
    assert.ok(current.bytes > 0);
    assert.deepEqual(await present(sha256), [false, false]);
    assert.equal(await store.blobRecords.find(sha256), null);
  });

  test('a claimant that stalled past half the takeover age stops before deleting, though it still holds the claim', async () => {
    const claimedAt = Date.now();
    const sha256 = await claimedBlob(claimedAt);
    const later = () => claimedAt + stuckClaimMs / 2;
    assert.deepEqual(await deleteClaimedBlob({ store, blobs, clock: later }, sha256, 'unreferenced', claimedAt), { bytes: 0, finished: false });
    assert.deepEqual(await present(sha256), [true, true]);
    assert.equal(await store.blobRecords.holdsClaim(sha256, claimedAt), true);
  });

  test('garbage collection finishes stuck claims (finishedStuck) and leaves young ones alone', async () => {
    const stuck = await claimedBlob(Date.now() - stuckClaimMs - 1);
    const young = await claimedBlob(Date.now() - minute);
    const unreferenced = await collectUnreferencedBlobs({ store, blobs, now: Date.now(), graceMs: 0, dryRun: false, signal: undefined, progress: () => {} });
    assert.ok((unreferenced.details.finishedStuck ?? 0) >= 1, JSON.stringify(unreferenced));
    assert.deepEqual(await present(stuck), [false, false]);
    assert.equal(await store.blobRecords.find(stuck), null);
    assert.deepEqual(await present(young), [true, true]);
    assert.equal((await store.blobRecords.find(young))?.state, 'deleting');
  });
});
