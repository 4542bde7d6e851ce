import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, test } from 'node:test';
import { newId } from '../core/ids.js';
import type { ResumableUpload } from '../core/uploads/resumable-upload.js';
import type { UploadLink } from '../core/uploads/upload-link.js';
import type { User } from '../core/users/user.js';
import { aHash, anImage, aUser, type ContractScope } from './metadata-store.support.contract.js';

const now = 1_700_000_500_000;

export function anUpload(ownerId: string, overrides: Partial<ResumableUpload> = {}): ResumableUpload {
  return {
    id: randomBytes(16).toString('hex'),
    ownerId,
    size: 5_000_000,
    received: 0,
    sha256: null,
    createdAt: now - 60_000,
    expiresAt: now + 86_400_000,
    finishedAt: null,
    claimedUntil: null,
    consumedAt: null,
    imageId: null,
    ...overrides,
  };
}

export function anUploadLink(ownerId: string, overrides: Partial<UploadLink> = {}): UploadLink {
  return {
    id: newId(),
    tokenHash: aHash(),
    ownerId,
    createdAt: now - 60_000,
    expiresAt: now + 3_600_000,
    maxBytes: 1_000_000,
    maxImages: 5,
    usedBytes: 0,
    usedImages: 0,
    ...overrides,
  };
}

/** The contract of `uploads` and `uploadLinks` (see upload-repositories.ts). */
export function uploadsContract(scope: ContractScope): void {
  let owner: User;
  beforeEach(async () => {
    owner = aUser();
    await scope.store.users.insert(owner);
  });
  const finished = (overrides: Partial<ResumableUpload> = {}) =>
    anUpload(owner.id, { received: 5_000_000, sha256: aHash(), finishedAt: now - 1_000, ...overrides });

  describe('resumable uploads', () => {
    test('an upload is read back field for field; unknown ids are null', async () => {
      const { store } = scope;
      const upload = anUpload(owner.id);
      const done = anUpload(owner.id, { received: 5_000_000, sha256: aHash(), finishedAt: now, claimedUntil: now + 1, consumedAt: now + 2, imageId: newId() });
      await store.uploads.insert(upload);
      await store.transaction((tx) => tx.uploads.insert(done));
      assert.deepEqual(await store.uploads.findById(upload.id), upload);
      assert.deepEqual(await store.uploads.findById(done.id), done);
      assert.equal(await store.uploads.findById(randomBytes(16).toString('hex')), null);
    });

    test('progress is recorded while unfinished; finishing happens once and sets received to size', async () => {
      const { store } = scope;
      const upload = anUpload(owner.id);
      await store.uploads.insert(upload);
      assert.equal(await store.uploads.recordReceived(upload.id, 1_234), true);
      assert.equal((await store.uploads.findById(upload.id))?.received, 1_234);
      const sha256 = aHash();
      assert.equal(await store.uploads.markFinished(upload.id, sha256, now), true);
      assert.equal(await store.uploads.markFinished(upload.id, aHash(), now + 1), false);
      assert.equal(await store.uploads.recordReceived(upload.id, 99), false);
      assert.deepEqual(await store.uploads.findById(upload.id), { ...upload, received: upload.size, sha256, finishedAt: now });
      assert.equal(await store.uploads.markFinished('unknown', sha256, now), false);
    });

    test('only the owner claims, and only a finished, unconsumed, unexpired upload', async () => {
      const { store } = scope;
      const other = aUser();
      await store.users.insert(other);
      const unfinished = anUpload(owner.id);
      const expired = finished({ expiresAt: now });
      const ready = finished();
      for (const upload of [unfinished, expired, ready]) await store.uploads.insert(upload);
      assert.equal(await store.uploads.claim(unfinished.id, owner.id, now, now + 60_000), false);
      assert.equal(await store.uploads.claim(expired.id, owner.id, now, now + 60_000), false);
      assert.equal(await store.uploads.claim(ready.id, other.id, now, now + 60_000), false);
      assert.equal(await store.uploads.claim('unknown', owner.id, now, now + 60_000), false);
      assert.equal(await store.uploads.claim(ready.id, owner.id, now, now + 60_000), true);
      assert.equal((await store.uploads.findById(ready.id))?.claimedUntil, now + 60_000);
    });

    test('a live claim excludes others until it lapses or is released', async () => {
      const { store } = scope;
      const upload = finished();
      await store.uploads.insert(upload);
      assert.equal(await store.uploads.claim(upload.id, owner.id, now, now + 1_000), true);
      assert.equal(await store.uploads.claim(upload.id, owner.id, now + 999, now + 5_000), false);
      // A claim whose time has come counts as abandoned (its request crashed).
      assert.equal(await store.uploads.claim(upload.id, owner.id, now + 1_000, now + 5_000), true);
      await store.uploads.releaseClaim(upload.id);
      assert.equal((await store.uploads.findById(upload.id))?.claimedUntil, null);
      assert.equal(await store.uploads.claim(upload.id, owner.id, now + 1_001, now + 5_000), true);
    });

    test('of 10 concurrent claims exactly one wins', async () => {
      const { store } = scope;
      const upload = finished();
      await store.uploads.insert(upload);
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.uploads.claim(upload.id, owner.id, now, now + 60_000)));
      assert.equal(outcomes.filter(Boolean).length, 1);
    });

    test('consuming happens once, drops the claim, and a consumed upload is never claimed again', async () => {
      const { store } = scope;
      const upload = finished();
      await store.uploads.insert(upload);
      await store.uploads.claim(upload.id, owner.id, now, now + 60_000);
      const imageId = newId();
      assert.equal(await store.transaction((tx) => tx.uploads.markConsumed(upload.id, imageId, now + 10)), true);
      assert.equal(await store.uploads.markConsumed(upload.id, newId(), now + 20), false);
      await store.uploads.releaseClaim(upload.id);
      assert.deepEqual(await store.uploads.findById(upload.id), { ...upload, consumedAt: now + 10, imageId, claimedUntil: null });
      assert.equal(await store.uploads.claim(upload.id, owner.id, now + 30, now + 60_000), false);
    });

    test('deleteIdle spares consumed uploads and live claims', async () => {
      const { store } = scope;
      const idle = anUpload(owner.id);
      const consumed = finished({ consumedAt: now - 1, imageId: newId() });
      const claimed = finished({ claimedUntil: now + 1 });
      const lapsed = finished({ claimedUntil: now });
      for (const upload of [idle, consumed, claimed, lapsed]) await store.uploads.insert(upload);
      assert.equal(await store.uploads.deleteIdle(idle.id, now), true);
      assert.equal(await store.uploads.deleteIdle(idle.id, now), false);
      assert.equal(await store.uploads.deleteIdle(consumed.id, now), false);
      assert.equal(await store.uploads.deleteIdle(claimed.id, now), false);
      assert.equal(await store.uploads.deleteIdle(lapsed.id, now), true);
      assert.equal(await store.uploads.findById(idle.id), null);
      assert.notEqual(await store.uploads.findById(consumed.id), null);
    });

    test('listExpired and deleteExpired take exactly the uploads expired at now that no claim holds', async () => {
      const { store } = scope;
      const first = anUpload(owner.id, { expiresAt: now - 2_000 });
      const second = finished({ expiresAt: now - 1_000, consumedAt: now - 5_000, imageId: newId() });
      const atNow = anUpload(owner.id, { expiresAt: now });
      const live = anUpload(owner.id, { expiresAt: now + 1 });
      const held = finished({ expiresAt: now - 3_000, claimedUntil: now + 60_000 });
      for (const upload of [live, atNow, second, held, first]) await store.uploads.insert(upload);
      assert.deepEqual(
        (await store.uploads.listExpired(now, 10)).map((u) => u.id),
        [first.id, second.id, atNow.id],
      );
      assert.deepEqual(
        (await store.uploads.listExpired(now, 2)).map((u) => u.id),
        [first.id, second.id],
      );
      assert.equal(await store.uploads.deleteExpired(live.id, now), false);
      assert.equal(await store.uploads.deleteExpired(held.id, now), false);
      assert.equal(await store.uploads.deleteExpired(first.id, now), true);
      assert.equal(await store.uploads.deleteExpired(first.id, now), false);
      assert.deepEqual(
        (await store.uploads.listExpired(now, 10)).map((u) => u.id),
        [second.id, atNow.id],
      );
    });

    test('existingIds returns the ids that have a row', async () => {
      const { store } = scope;
      const [a, b] = [anUpload(owner.id), anUpload(owner.id)];
      await store.uploads.insert(a);
      await store.uploads.insert(b);
      const found = await store.uploads.existingIds([b.id, 'nope', a.id]);
      assert.deepEqual([...found].sort(), [a.id, b.id].sort());
      assert.deepEqual(await store.uploads.existingIds([]), []);
    });

    test('an insert in a transaction that throws leaves no upload', async () => {
      const { store } = scope;
      const upload = anUpload(owner.id);
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.uploads.insert(upload);
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      assert.equal(await store.uploads.findById(upload.id), null);
    });
  });

  describe('upload links', () => {
    test('a link is found by id and by token hash, field for field', async () => {
      const { store } = scope;
      const link = anUploadLink(owner.id);
      await store.transaction((tx) => tx.uploadLinks.insert(link));
      assert.deepEqual(await store.uploadLinks.findById(link.id), link);
      assert.deepEqual(await store.uploadLinks.findByTokenHash(link.tokenHash), link);
      assert.equal(await store.uploadLinks.findByTokenHash(aHash()), null);
      assert.equal(await store.uploadLinks.findById(newId()), null);
    });

    test('reserve counts within both caps and before expiry; release gives back', async () => {
      const { store } = scope;
      const link = anUploadLink(owner.id, { maxImages: 3, maxBytes: 1_000 });
      await store.uploadLinks.insert(link);
      assert.equal(await store.uploadLinks.reserve(link.id, 600, now), true);
      assert.equal(await store.uploadLinks.reserve(link.id, 401, now), false, 'over the byte cap');
      assert.equal(await store.uploadLinks.reserve(link.id, 400, now), true);
      assert.equal(await store.uploadLinks.reserve(link.id, 0, now), true);
      assert.equal(await store.uploadLinks.reserve(link.id, 0, now), false, 'over the image cap');
      assert.deepEqual(await store.uploadLinks.findById(link.id), { ...link, usedBytes: 1_000, usedImages: 3 });
      await store.uploadLinks.release(link.id, 400);
      assert.deepEqual(await store.uploadLinks.findById(link.id), { ...link, usedBytes: 600, usedImages: 2 });
      assert.equal(await store.uploadLinks.reserve(link.id, 400, link.expiresAt), false, 'expired');
      assert.equal(await store.uploadLinks.reserve(link.id, 400, link.expiresAt - 1), true);
      assert.equal(await store.uploadLinks.reserve(newId(), 1, now), false);
    });

    test('20 concurrent reservations never overshoot a cap', async () => {
      const { store } = scope;
      const link = anUploadLink(owner.id, { maxImages: 5, maxBytes: 10_000 });
      await store.uploadLinks.insert(link);
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => store.uploadLinks.reserve(link.id, 100, now)));
      assert.equal(outcomes.filter(Boolean).length, 5);
      assert.deepEqual(await store.uploadLinks.findById(link.id), { ...link, usedImages: 5, usedBytes: 500 });
    });

    test("listImages pages through the link owner's images, newest first", async () => {
      const { store } = scope;
      const link = anUploadLink(owner.id);
      await store.uploadLinks.insert(link);
      const someoneElse = aUser();
      await store.users.insert(someoneElse);
      const images = Array.from({ length: 3 }, () => anImage(owner.id, { id: newId(), status: 'ready' }));
      for (const image of images) await store.images.insertOrGetExisting(image);
      await store.images.insertOrGetExisting(anImage(someoneElse.id, { id: newId() }));
      const newestFirst = [...images].reverse();
      assert.deepEqual(await store.uploadLinks.listImages(link.id, null, 10), newestFirst);
      assert.deepEqual(await store.uploadLinks.listImages(link.id, null, 2), newestFirst.slice(0, 2));
      assert.deepEqual(await store.uploadLinks.listImages(link.id, newestFirst[1]!.id, 2), newestFirst.slice(2));
      assert.deepEqual(await store.uploadLinks.listImages(newId(), null, 10), []);
    });
  });
}
