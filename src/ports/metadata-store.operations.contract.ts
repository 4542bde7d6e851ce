import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, test } from 'node:test';
import { newId } from '../core/ids.js';
import type { ImportEntry } from '../core/imports/import-entry.js';
import type { User } from '../core/users/user.js';
import { whileHeldOpen } from './metadata-store.blob-records.contract.js';
import { aHash, anImage, aPost, aSession, aUser, type ContractScope, publishPosts, sortById } from './metadata-store.support.contract.js';

const now = 1_700_000_500_000;
const hour = 3_600_000;

/**
 * The contract of `stats` and `importLedger` (see blob-records.ts), and of the image, session and
 * post methods garbage collection, repairs and reprocessing build on (see metadata-store.ts).
 */
export function operationsContract(scope: ContractScope): void {
  let owner: User;
  beforeEach(async () => {
    owner = aUser();
    await scope.store.users.insert(owner);
  });

  describe('stats counters and checkpoint', () => {
    test('the checkpoint starts at 0 and advances only from where it is', async () => {
      assert.equal(await scope.store.stats.checkpoint(), 0);
      assert.equal(await scope.store.stats.advance(0, 5), true);
      assert.equal(await scope.store.stats.advance(0, 7), false);
      assert.equal(await scope.store.stats.checkpoint(), 5);
      assert.equal(await scope.store.stats.advance(5, 7), true);
      assert.equal(await scope.store.stats.checkpoint(), 7);
    });

    test('of two projectors advancing from the same checkpoint one wins, and only its deltas count', async () => {
      const project = () =>
        scope.store.transaction(async (tx) => {
          if (!(await tx.stats.advance(0, 3))) throw new Error('checkpoint moved');
          await tx.stats.apply([{ dimension: 'format', value: 'jpeg', delta: 1 }]);
        });
      const outcomes = await Promise.allSettled([project(), project()]);
      assert.deepEqual(outcomes.map((outcome) => outcome.status).sort(), ['fulfilled', 'rejected']);
      assert.equal(await scope.store.stats.checkpoint(), 3);
      assert.deepEqual(await scope.store.stats.values('format', ['jpeg']), [{ value: 'jpeg', uploads: 1 }]);
    });

    test('apply sums deltas per counter; top is by count, then value, without counts ≤ 0', async () => {
      const { stats } = scope.store;
      await stats.apply([]);
      await stats.apply([
        { dimension: 'format', value: 'png', delta: 1 },
        { dimension: 'format', value: 'jpeg', delta: 1 },
        { dimension: 'format', value: 'gif', delta: 1 },
        { dimension: 'format', value: 'jpeg', delta: 2 },
        { dimension: 'format', value: 'avif', delta: -1 },
        { dimension: 'camera_model', value: 'jpeg', delta: 9 },
        { dimension: 'day', value: '2023-11-14', delta: 4 },
      ]);
      await stats.apply([
        { dimension: 'format', value: 'tiff', delta: 1 },
        { dimension: 'format', value: 'jpeg', delta: -1 },
      ]);
      await stats.apply([{ dimension: 'format', value: 'tiff', delta: -1 }]);
      await assert.rejects(
        scope.store.transaction(async (tx) => {
          await tx.stats.apply([{ dimension: 'format', value: 'png', delta: 5 }]);
          throw new Error('rolled back');
        }),
      );
      const counters = (list: [string, number][]) => list.map(([value, uploads]) => ({ value, uploads }));
      assert.deepEqual(
        await stats.top('format', 10),
        counters([
          ['jpeg', 2],
          ['gif', 1],
          ['png', 1],
        ]),
      );
      assert.deepEqual(
        await stats.top('format', 2),
        counters([
          ['jpeg', 2],
          ['gif', 1],
        ]),
      );
      assert.deepEqual(await stats.top('camera_model', 10), counters([['jpeg', 9]]));
      const values = await stats.values('day', ['2023-11-14', '2023-11-15']);
      assert.deepEqual(values, counters([['2023-11-14', 4]]));
      const formats = await stats.values('format', ['gif', 'jpeg', 'webp']);
      assert.deepEqual(
        formats.sort((a, b) => a.value.localeCompare(b.value)),
        counters([
          ['gif', 1],
          ['jpeg', 2],
        ]),
      );
      assert.deepEqual(await stats.values('format', []), []);
    });
  });

  describe('the import ledger', () => {
    const anEntry = (ownerId: string, path: string, overrides: Partial<ImportEntry> = {}): ImportEntry => ({
      ownerId,
      path,
      size: 123_456,
      modifiedAt: now - hour,
      outcome: 'imported',
      imageId: newId(),
      detail: null,
      recordedAt: now,
      ...overrides,
    });

    test('one entry per owner and path, the last recorded; find returns those asked for', async () => {
      const other = aUser();
      await scope.store.users.insert(other);
      const imported = anEntry(owner.id, '/photos/a.jpg');
      const rejected = anEntry(owner.id, '/photos/ä b.png', { outcome: 'rejected', imageId: null, detail: 'UNSUPPORTED_FORMAT: not an image' });
      const theirs = anEntry(other.id, '/photos/a.jpg', { outcome: 'duplicate' });
      for (const entry of [imported, rejected, theirs]) await scope.store.importLedger.record(entry);
      const found = await scope.store.importLedger.find(owner.id, ['/photos/a.jpg', '/photos/ä b.png', '/photos/none.jpg']);
      const byPath = (entries: ImportEntry[]) => [...entries].sort((a, b) => (a.path < b.path ? -1 : 1));
      assert.deepEqual(byPath(found), byPath([imported, rejected]));
      assert.deepEqual(await scope.store.importLedger.find(other.id, ['/photos/a.jpg']), [theirs]);
      const changed = anEntry(owner.id, '/photos/a.jpg', {
        size: 1,
        modifiedAt: now,
        outcome: 'rejected',
        imageId: null,
        detail: 'IMAGE_TOO_LARGE',
        recordedAt: now + 1,
      });
      await scope.store.importLedger.record(changed);
      assert.deepEqual(await scope.store.importLedger.find(owner.id, ['/photos/a.jpg']), [changed]);
      assert.deepEqual(await scope.store.importLedger.find(owner.id, []), []);
    });
  });

  describe('images, sessions and posts for operations', () => {
    test('findByHash returns the images of those bytes, any owner', async () => {
      const other = aUser();
      await scope.store.users.insert(other);
      const mine = anImage(owner.id);
      const theirs = anImage(other.id, { sha256: mine.sha256 });
      for (const image of [mine, theirs, anImage(owner.id)]) await scope.store.images.insertOrGetExisting(image);
      assert.deepEqual(sortById(await scope.store.images.findByHash(mine.sha256)), sortById([mine, theirs]));
      assert.deepEqual(await scope.store.images.findByHash(aHash()), []);
    });

    test('setMetadata stores the EXIF facts and when they were read', async () => {
      const bare = { cameraMake: null, cameraModel: null, takenAt: null, hasGps: false, gpsLatitude: null, gpsLongitude: null };
      const image = anImage(owner.id, { ...bare, metadataExtractedAt: null });
      await scope.store.images.insertOrGetExisting(image);
      const exif = { cameraMake: 'Canon', cameraModel: 'EOS R5', takenAt: 1_690_000_000_000, hasGps: true, gpsLatitude: -33.8688, gpsLongitude: 151.2093 };
      assert.equal(await scope.store.images.setMetadata(image.id, exif, now), true);
      assert.deepEqual(await scope.store.images.findById(image.id), { ...image, ...exif, metadataExtractedAt: now });
      assert.equal(await scope.store.images.setMetadata(image.id, bare, now + 1), true);
      assert.deepEqual(await scope.store.images.findById(image.id), { ...image, metadataExtractedAt: now + 1 });
      assert.equal(await scope.store.images.setMetadata(randomUUID(), exif, now), false);
    });

    test('listIncomplete and listIds page in id order strictly after `after`', async () => {
      const incomplete = [anImage(owner.id, { createdAt: now - 2 }), anImage(owner.id, { createdAt: now - 1 })];
      const tooNew = anImage(owner.id, { createdAt: now });
      const completed = anImage(owner.id, { createdAt: now - 3, status: 'ready', uploadCompletedAt: now - 2 });
      const all = [...incomplete, tooNew, completed];
      for (const image of all) await scope.store.images.insertOrGetExisting(image);
      const { images } = scope.store;
      assert.deepEqual(await images.listIncomplete(now, null, 10), sortById(incomplete));
      const [first, second] = sortById(incomplete);
      assert.deepEqual(await images.listIncomplete(now, null, 1), [first]);
      assert.deepEqual(await images.listIncomplete(now, first!.id, 10), [second]);
      assert.deepEqual(await images.listIncomplete(now - 1, null, 10), incomplete.slice(0, 1));
      const ids = sortById(all).map((image) => image.id);
      assert.deepEqual(await images.listIds(null, 10), ids);
      assert.deepEqual(await images.listIds(ids[0]!, 2), ids.slice(1, 3));
      assert.deepEqual(await images.listIds(ids[3]!, 2), []);
    });

    test('markFailed fails only an image whose upload has not completed', async () => {
      const pending = anImage(owner.id);
      const done = anImage(owner.id, { status: 'ready', uploadCompletedAt: now - 1 });
      for (const image of [pending, done]) await scope.store.images.insertOrGetExisting(image);
      assert.equal(await scope.store.transaction((tx) => tx.images.markFailed(pending.id)), true);
      assert.equal((await scope.store.images.findById(pending.id))?.status, 'failed');
      assert.equal(await scope.store.images.markFailed(done.id), false);
      assert.deepEqual(await scope.store.images.findById(done.id), done);
      assert.equal(await scope.store.images.markFailed(randomUUID()), false);
    });

    test('markFailed locks the image until commit: a completion racing the retirement finds it gone', async () => {
      const image = anImage(owner.id);
      await scope.store.images.insertOrGetExisting(image);
      const outcome = await whileHeldOpen(
        scope.store,
        // biome-ignore lint/suspicious/noThenProperty: a step list read by this suite, never awaited.
        { first: (tx) => tx.images.markFailed(image.id), then: async (tx) => void (await tx.images.delete(image.id, now)) },
        () => scope.store.images.markUploadCompleted(image.id, now),
      );
      assert.deepEqual(outcome, { waited: true, first: true, concurrent: false });
    });

    test('sessions.deleteExpired deletes the sessions expired at now and says how many', async () => {
      const sessions = [now - 1, now, now + 1].map((expiresAt) => aSession(owner.id, expiresAt));
      for (const session of sessions) await scope.store.sessions.insert(session);
      assert.equal(await scope.store.sessions.deleteExpired(now), 2);
      assert.equal(await scope.store.sessions.deleteExpired(now), 0);
      assert.equal(await scope.store.sessions.delete(sessions[1]!.tokenHash), false);
      assert.deepEqual((await scope.store.sessions.findActive(sessions[2]!.tokenHash, now))?.session, sessions[2]);
    });

    test('posts.findByImage returns the posts that show the image', async () => {
      const { author, images, posts } = await publishPosts(scope.store, [0, 2]);
      const another = aPost(author.id, images[0]!.id);
      await scope.store.posts.insert(another);
      assert.deepEqual(sortById(await scope.store.posts.findByImage(images[0]!.id)), sortById([posts[0]!, another]));
      assert.deepEqual(await scope.store.posts.findByImage(images[1]!.id), [posts[1]]);
      assert.deepEqual(await scope.store.posts.findByImage(randomUUID()), []);
    });
  });
}
