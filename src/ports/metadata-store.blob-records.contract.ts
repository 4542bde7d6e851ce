import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, test } from 'node:test';
import type { BlobRecord } from '../core/blobs/blob-record.js';
import { newId } from '../core/ids.js';
import type { User } from '../core/users/user.js';
import type { MetadataRepositories, MetadataStore } from './metadata-store.js';
import { aHash, anImage, aUser, type ContractScope, sleep } from './metadata-store.support.contract.js';

const now = 1_700_000_500_000;
const hour = 3_600_000;
const byHash = (records: BlobRecord[]) => records.map((record) => record.sha256);

/**
 * Runs `first` in a transaction and holds it open (before `then`, in the same transaction) while
 * `concurrent` starts; says whether `concurrent` was still waiting 50 ms later, long enough for a
 * query no lock holds up. The transaction always commits, so a failed assertion cannot hang the run.
 */
export async function whileHeldOpen<A, B>(
  store: MetadataStore,
  work: { first: (tx: MetadataRepositories) => Promise<A>; then?: (tx: MetadataRepositories) => Promise<void> },
  concurrent: () => Promise<B>,
): Promise<{ waited: boolean; first: A; concurrent: B }> {
  let reached!: () => void;
  const reachedHold = new Promise<void>((resolve) => (reached = resolve));
  let commit!: () => void;
  const committing = new Promise<void>((resolve) => (commit = resolve));
  const held = store.transaction(async (tx) => {
    try {
      return await work.first(tx);
    } finally {
      reached();
      await committing;
      await work.then?.(tx);
    }
  });
  await reachedHold;
  const later = concurrent();
  let settled = false;
  void later.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(50);
  const waited = !settled;
  commit();
  const [first, second] = await Promise.all([held, later]);
  return { waited, first, concurrent: second };
}

/**
 * The contract of `blobRecords` (see BlobRecordRepository in blob-records.ts), with the pin/claim
 * protocol and what image inserts and deletes do to a blob's record.
 */
export function blobRecordsContract(scope: ContractScope): void {
  let owner: User;
  beforeEach(async () => {
    owner = aUser();
    await scope.store.users.insert(owner);
  });
  const records = () => scope.store.blobRecords;
  /** A blob some image references; returns its hash. */
  const referencedBlob = async () => (await scope.store.images.insertOrGetExisting(anImage(owner.id))).image.sha256;
  /** A blob whose last image went at `at`. */
  const unreferencedBlob = async (at: number) => {
    const image = anImage(owner.id);
    await scope.store.images.insertOrGetExisting(image);
    await scope.store.images.delete(image.id, at);
    return image.sha256;
  };
  /** Deletes every pin and says how many there were. */
  const pinCount = () => records().deleteExpiredPins(Number.MAX_SAFE_INTEGER);

  describe('pins, references and claims', () => {
    test('pin records an unknown blob as unreferenced since now; a known one is left as it is', async () => {
      const sha256 = aHash();
      assert.equal(await records().pin(sha256, 1_234, newId(), now, now + hour), 'pinned');
      const recorded = { sha256, size: 1_234, state: 'live', createdAt: now, unreferencedSince: now, missingSince: null, stateChangedAt: now };
      assert.deepEqual(await records().find(sha256), recorded);
      assert.equal(await records().pin(sha256, 999, newId(), now + 5, now + hour), 'pinned');
      assert.deepEqual(await records().find(sha256), recorded);
      const referenced = await referencedBlob();
      assert.equal(await scope.store.transaction((tx) => tx.blobRecords.pin(referenced, 1, newId(), now, now + hour)), 'pinned');
      assert.equal((await records().find(referenced))?.unreferencedSince, null);
      assert.equal(await pinCount(), 3);
      await records().unpin(randomUUID());
      assert.equal(await records().find(aHash()), null);
      assert.deepEqual((await records().existing([sha256, aHash(), referenced])).sort(), [sha256, referenced].sort());
      assert.deepEqual(await records().existing([]), []);
      assert.equal(await records().count(), 2);
    });

    test('a new image makes its blob referenced and present; deleting the last image marks it unreferenced', async () => {
      const other = aUser();
      await scope.store.users.insert(other);
      const sha256 = aHash();
      await records().pin(sha256, 2_345_678, newId(), now - hour, now + hour);
      await records().markMissing(sha256, now - 1);
      const mine = anImage(owner.id, { sha256 });
      const theirs = anImage(other.id, { sha256 });
      await scope.store.images.insertOrGetExisting(mine);
      await scope.store.images.insertOrGetExisting(theirs);
      const referenced = await records().find(sha256);
      assert.deepEqual([referenced?.state, referenced?.unreferencedSince, referenced?.missingSince], ['live', null, null]);
      await scope.store.images.delete(mine.id, now);
      assert.equal((await records().find(sha256))?.unreferencedSince, null);
      await assert.rejects(
        scope.store.transaction(async (tx) => {
          await tx.images.delete(theirs.id, now + 1);
          throw new Error('rolled back');
        }),
      );
      assert.equal((await records().find(sha256))?.unreferencedSince, null);
      await scope.store.images.delete(theirs.id, now + 2);
      assert.equal((await records().find(sha256))?.unreferencedSince, now + 2);
      // Without a pin first (an image of bytes nobody pinned) the record is made with the image.
      const fresh = anImage(owner.id);
      await scope.store.images.insertOrGetExisting(fresh);
      const made = await records().find(fresh.sha256);
      assert.deepEqual([made?.size, made?.state, made?.unreferencedSince, made?.missingSince], [fresh.size, 'live', null, null]);
    });

    test('claimForDeletion takes only a live blob, unreferenced long enough, that no image or live pin holds', async () => {
      assert.equal(await records().claimForDeletion(aHash(), now, now), false);
      assert.equal(await records().claimForDeletion(await referencedBlob(), now, now), false);
      const recent = await unreferencedBlob(now);
      assert.equal(await records().claimForDeletion(recent, now - 1, now), false);
      assert.equal(await records().claimForDeletion(recent, now, now), true);
      assert.equal(await records().claimForDeletion(recent, now, now), false, 'claimed already');
      const pinned = await unreferencedBlob(now - hour);
      await records().pin(pinned, 1, newId(), now - 1, now + 1_000);
      assert.equal(await records().claimForDeletion(pinned, now, now + 999), false);
      // An expired pin holds nothing, deleted or not.
      assert.equal(await records().claimForDeletion(pinned, now, now + 1_000), true);
      const unpinned = await unreferencedBlob(now - hour);
      const pinId = newId();
      await records().pin(unpinned, 1, pinId, now - 1, now + hour);
      await records().unpin(pinId);
      await records().unpin(pinId);
      assert.equal(await records().claimForDeletion(unpinned, now, now), true);
    });

    test('a claimed blob refuses pins until finishDeletion removes its record; then it is pinned anew', async () => {
      const sha256 = await unreferencedBlob(now - hour);
      assert.equal(await records().holdsClaim(sha256, now), false);
      assert.equal(await records().finishDeletion(sha256, now), false, 'not claimed');
      assert.equal(await records().claimForDeletion(sha256, now, now), true);
      assert.equal(await records().holdsClaim(sha256, now), true);
      assert.equal(await records().holdsClaim(sha256, now - 1), false, 'another claim time is another claim');
      const deleting = await records().find(sha256);
      assert.deepEqual([deleting?.state, deleting?.stateChangedAt], ['deleting', now]);
      assert.equal(await records().pin(sha256, 1, newId(), now + 1, now + hour), 'deleting');
      assert.equal(await pinCount(), 0);
      assert.equal(await records().count(), 1);
      assert.equal(await records().finishDeletion(sha256, now + 1), false, 'not this claim');
      assert.equal(await records().finishDeletion(sha256, now), true);
      assert.equal(await records().finishDeletion(sha256, now), false);
      assert.equal(await records().find(sha256), null);
      assert.equal(await records().holdsClaim(sha256, now), false);
      assert.equal(await records().pin(sha256, 7, newId(), now + 2, now + hour), 'pinned');
      assert.equal((await records().find(sha256))?.unreferencedSince, now + 2);
    });

    test('reclaimStuck takes over only a claim older than `claimedBefore`; the first holder loses it', async () => {
      const sha256 = await unreferencedBlob(now - hour);
      assert.equal(await records().reclaimStuck(sha256, now, now), false, 'a live record is not a claim');
      assert.equal(await records().claimForDeletion(sha256, now, now - 1_000), true);
      assert.equal(await records().reclaimStuck(sha256, now - 1_000, now), false, 'not old enough');
      assert.equal(await records().reclaimStuck(sha256, now - 999, now), true);
      assert.equal(await records().reclaimStuck(sha256, now - 999, now + 1), false, 'taken over already');
      assert.equal(await records().holdsClaim(sha256, now - 1_000), false);
      assert.equal(await records().finishDeletion(sha256, now - 1_000), false, 'the first holder is fenced off');
      assert.equal(await records().holdsClaim(sha256, now), true);
      assert.deepEqual(byHash(await records().listStuckDeleting(now + 1, 10)), [sha256]);
      assert.equal(await records().finishDeletion(sha256, now), true);
      assert.equal(await records().count(), 0);
    });

    test('a pin waits for a claim in progress, then sees deleting', async () => {
      const sha256 = await unreferencedBlob(now - hour);
      const outcome = await whileHeldOpen(scope.store, { first: (tx) => tx.blobRecords.claimForDeletion(sha256, now, now) }, () =>
        records().pin(sha256, 1, newId(), now, now + hour),
      );
      assert.deepEqual(outcome, { waited: true, first: true, concurrent: 'deleting' });
    });

    test('a claim waits for a pin in progress, then refuses', async () => {
      const sha256 = await unreferencedBlob(now - hour);
      const outcome = await whileHeldOpen(scope.store, { first: (tx) => tx.blobRecords.pin(sha256, 1, newId(), now, now + hour) }, () =>
        records().claimForDeletion(sha256, now, now),
      );
      assert.deepEqual(outcome, { waited: true, first: 'pinned', concurrent: false });
    });

    test('deleteExpiredPins deletes the pins expired by now; the others still hold', async () => {
      const sha256 = await unreferencedBlob(now - hour);
      for (const until of [now - 1, now, now + 1]) await records().pin(sha256, 1, newId(), now - hour, until);
      assert.equal(await records().deleteExpiredPins(now), 2);
      assert.equal(await records().deleteExpiredPins(now), 0);
      assert.equal(await records().claimForDeletion(sha256, now, now), false);
      assert.equal(await records().claimForDeletion(sha256, now, now + 1), true);
    });
  });

  describe('scans and missing bytes', () => {
    test('listCollectable, listReferenced and listStuckDeleting page by hash after `after`', async () => {
      const referenced = await Promise.all([referencedBlob(), referencedBlob(), referencedBlob()]);
      const oldest = await unreferencedBlob(now - 3_000);
      const older = await unreferencedBlob(now - 2_000);
      const recent = await unreferencedBlob(now - 1_000);
      const claimed = await unreferencedBlob(now - hour);
      await records().claimForDeletion(claimed, now, now - 500);
      const sorted = (hashes: string[]) => [...hashes].sort();
      assert.deepEqual(byHash(await records().listCollectable(now - 2_000, null, 10)), sorted([oldest, older]));
      const collectable = sorted([oldest, older, recent]);
      assert.deepEqual(byHash(await records().listCollectable(now, null, 2)), collectable.slice(0, 2));
      assert.deepEqual(byHash(await records().listCollectable(now, collectable[1]!, 2)), collectable.slice(2));
      assert.deepEqual(byHash(await records().listReferenced(null, 10)), sorted(referenced));
      assert.deepEqual(byHash(await records().listReferenced(sorted(referenced)[0]!, 1)), sorted(referenced).slice(1, 2));
      assert.deepEqual(byHash(await records().listStuckDeleting(now - 500, 10)), []);
      assert.deepEqual(byHash(await records().listStuckDeleting(now - 499, 10)), [claimed]);
      assert.equal(await records().count(), 7);
    });

    test('markUnreferenced pages by hash and marks nothing an image references or that is marked', async () => {
      const referenced = [await referencedBlob(), await referencedBlob()];
      const marked = [await unreferencedBlob(now - 10), await unreferencedBlob(now - 20)];
      const visited: (string | null)[] = [];
      for (let after: string | null = null; ; ) {
        const page: { last: string | null; marked: number } = await records().markUnreferenced(after, 3, now);
        assert.equal(page.marked, 0);
        visited.push(page.last);
        if (page.last === null) break;
        after = page.last;
      }
      assert.deepEqual(visited, [[...referenced, ...marked].sort()[2]!, null]);
      for (const sha256 of referenced) assert.equal((await records().find(sha256))?.unreferencedSince, null);
      assert.deepEqual([(await records().find(marked[0]!))?.unreferencedSince, (await records().find(marked[1]!))?.unreferencedSince], [now - 10, now - 20]);
    });

    test('deletes of the last two images racing each other leave their blob marked, by them or by markUnreferenced', async () => {
      const other = aUser();
      await scope.store.users.insert(other);
      const mine = anImage(owner.id);
      const theirs = anImage(other.id, { sha256: mine.sha256 });
      const { sha256 } = mine;
      await scope.store.images.insertOrGetExisting(mine);
      await scope.store.images.insertOrGetExisting(theirs);
      await whileHeldOpen(scope.store, { first: (tx) => tx.images.delete(mine.id, now + 1) }, () => scope.store.images.delete(theirs.id, now + 2));
      // On PostgreSQL each delete still saw the other's row; a single writer (SQLite) did not.
      const before = (await records().find(sha256))!.unreferencedSince;
      const { marked } = await records().markUnreferenced(null, 100, now + 3);
      assert.equal(marked, before === null ? 1 : 0);
      assert.equal((await records().find(sha256))?.unreferencedSince, before ?? now + 3);
      assert.deepEqual(byHash(await records().listCollectable(now + 3, null, 10)), [sha256]);
    });

    test('recordDiscovered records an unknown blob unreferenced since its last write; a known one is left alone', async () => {
      const sha256 = aHash();
      assert.equal(await records().recordDiscovered(sha256, 500, now - 10_000, now), true);
      const found = await records().find(sha256);
      assert.deepEqual([found?.size, found?.state, found?.unreferencedSince, found?.missingSince], [500, 'live', now - 10_000, null]);
      assert.equal(await records().recordDiscovered(sha256, 501, now - 5_000, now + 1), false);
      assert.deepEqual(await records().find(sha256), found);
      const referenced = await referencedBlob();
      assert.equal(await records().recordDiscovered(referenced, 500, now - 10_000, now), false);
      assert.equal((await records().find(referenced))?.unreferencedSince, null);
    });

    test('markMissing sets missingSince once; clearMissing says whether it was set', async () => {
      const sha256 = await referencedBlob();
      assert.equal(await records().markMissing(sha256, now), true);
      assert.equal(await records().markMissing(sha256, now + 5), false);
      assert.equal((await records().find(sha256))?.missingSince, now);
      assert.equal(await records().clearMissing(sha256), true);
      assert.equal(await records().clearMissing(sha256), false);
      assert.equal((await records().find(sha256))?.missingSince, null);
      assert.equal(await records().markMissing(aHash(), now), false);
      assert.equal(await records().clearMissing(aHash()), false);
    });

    test('claimMissing holds only for a live blob missing long enough that no live pin holds', async () => {
      const claimMissing = (sha256: string, missingBefore: number, at: number) =>
        scope.store.transaction((tx) => tx.blobRecords.claimMissing(sha256, missingBefore, at));
      const sha256 = await referencedBlob();
      assert.equal(await claimMissing(sha256, now, now), false, 'not missing');
      assert.equal(await claimMissing(aHash(), now, now), false, 'unknown');
      await records().markMissing(sha256, now);
      assert.equal(await claimMissing(sha256, now - 1, now), false);
      assert.equal(await claimMissing(sha256, now, now), true);
      await records().pin(sha256, 1, newId(), now, now + 1_000);
      assert.equal(await claimMissing(sha256, now, now + 999), false);
      assert.equal(await claimMissing(sha256, now, now + 1_000), true);
      const claimed = await unreferencedBlob(now - hour);
      await records().markMissing(claimed, now - hour);
      await records().claimForDeletion(claimed, now, now + 1_000);
      assert.equal(await claimMissing(claimed, now, now + 1_000), false, 'being deleted');
    });

    test('claimMissing locks the record until commit: a re-uploading pin waits for the retirement', async () => {
      const sha256 = await referencedBlob();
      await records().markMissing(sha256, now - hour);
      const outcome = await whileHeldOpen(scope.store, { first: (tx) => tx.blobRecords.claimMissing(sha256, now, now) }, () =>
        records().pin(sha256, 1, newId(), now, now + hour),
      );
      assert.deepEqual(outcome, { waited: true, first: true, concurrent: 'pinned' });
    });
  });
}
