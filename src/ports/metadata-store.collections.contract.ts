import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Collection } from '../core/collections/collection.js';
import { newId } from '../core/ids.js';
import type { Image } from '../core/images/image.js';
import type { MetadataStore } from './metadata-store.js';
import { anImage, aUser, type ContractScope, sortById } from './metadata-store.support.contract.js';

/** A collection with a fresh UUIDv7 id: later calls give newer (greater) ids. */
function aCollection(ownerId: string, overrides: Partial<Collection> = {}): Collection {
  return { id: newId(), ownerId, name: `album ${randomUUID().slice(0, 8)} ✓`, createdAt: 1_700_000_300_000, ...overrides };
}

/** An owner with `imageCount` ready images (ids in creation order) and `collectionCount` empty collections. */
async function anOwner(store: MetadataStore, imageCount: number, collectionCount: number) {
  const owner = aUser();
  // UUIDv7 ids, so "newest first" (id desc) is the reverse of creation order.
  const images = Array.from({ length: imageCount }, () => anImage(owner.id, { id: newId(), status: 'ready' }));
  const collections = Array.from({ length: collectionCount }, () => aCollection(owner.id));
  await store.transaction(async (tx) => {
    await tx.users.insert(owner);
    for (const image of images) await tx.images.insertOrGetExisting(image);
    for (const collection of collections) await tx.collections.insert(collection);
  });
  return { owner, images, collections };
}

const newestFirst = <T extends { id: string }>(items: T[]): T[] => sortById(items).reverse();
const ids = (items: readonly { id: string }[]) => items.map((item) => item.id);

/** The contract of `collections` (see CollectionRepository in metadata-store.ts). */
export function collectionsContract(scope: ContractScope): void {
  describe('collections', () => {
    test('a collection is read back, renamed and deleted; findByIds leaves missing ids out', async () => {
      const { store } = scope;
      const { collections } = await anOwner(store, 0, 2);
      const [first, second] = collections as [Collection, Collection];
      assert.deepEqual(await store.collections.findById(first.id), first);
      assert.deepEqual(sortById(await store.collections.findByIds([second.id, randomUUID(), first.id])), sortById([first, second]));
      assert.deepEqual(await store.collections.findByIds([]), []);
      assert.equal(await store.collections.rename(first.id, 'Holidays 🏖'), true);
      assert.equal((await store.collections.findById(first.id))?.name, 'Holidays 🏖');
      assert.equal(await store.collections.rename(randomUUID(), 'x'), false);
      assert.equal(await store.collections.delete(first.id), true);
      assert.equal(await store.collections.findById(first.id), null);
      assert.equal(await store.collections.delete(first.id), false);
    });

    test("listByOwner pages one owner's collections newest first", async () => {
      const { store } = scope;
      const { owner, collections } = await anOwner(store, 0, 5);
      await anOwner(store, 0, 2);
      const expected = newestFirst(collections);
      assert.deepEqual(await store.collections.listByOwner(owner.id, null, 2), expected.slice(0, 2));
      assert.deepEqual(await store.collections.listByOwner(owner.id, expected[1]!.id, 2), expected.slice(2, 4));
      assert.deepEqual(await store.collections.listByOwner(owner.id, expected[3]!.id, 2), expected.slice(4));
      assert.deepEqual(await store.collections.listByOwner(owner.id, null, 100), expected);
      assert.deepEqual(await store.collections.listByOwner(randomUUID(), null, 100), []);
    });

    test('membership is a set, and both sides read the same rows', async () => {
      const { store } = scope;
      const { images, collections } = await anOwner(store, 3, 2);
      const [a, b, c] = images as [Image, Image, Image];
      const [holidays, best] = collections as [Collection, Collection];
      assert.deepEqual((await store.collections.addImages(holidays.id, [a.id, b.id], 1)).sort(), [a.id, b.id].sort());
      assert.deepEqual(await store.collections.addImages(holidays.id, [a.id, b.id], 2), [], 'adding twice adds nothing');
      assert.deepEqual(await store.collections.addImages(holidays.id, [b.id, c.id], 3), [c.id]);
      await store.collections.addImages(best.id, [b.id], 4);

      const members = await store.collections.imagesIn([holidays.id, best.id, randomUUID()]);
      assert.deepEqual(
        members.filter((m) => m.collectionId === holidays.id).map((m) => m.image),
        newestFirst([a, b, c]),
      );
      assert.deepEqual(
        members.filter((m) => m.collectionId === best.id).map((m) => m.image),
        [b],
      );
      assert.equal(members.length, 4);
      const memberships = await store.collections.collectionsOf([a.id, b.id, c.id]);
      const of = (image: Image) => memberships.filter((m) => m.imageId === image.id).map((m) => m.collection);
      assert.deepEqual(of(a), [holidays]);
      assert.deepEqual(of(b), newestFirst([holidays, best]));
      assert.deepEqual(of(c), [holidays]);

      assert.deepEqual((await store.collections.removeImages(holidays.id, [a.id, c.id, randomUUID()])).sort(), [a.id, c.id].sort());
      assert.deepEqual(await store.collections.removeImages(holidays.id, [a.id]), []);
      assert.deepEqual(
        (await store.collections.imagesIn([holidays.id])).map((m) => m.image.id),
        [b.id],
      );
      assert.deepEqual(await store.collections.collectionsOf([a.id]), []);
      assert.deepEqual(await store.collections.imagesIn([]), []);
      assert.deepEqual(await store.collections.collectionsOf([]), []);
    });

    test('deleting a collection or an image removes its memberships on both sides', async () => {
      const { store } = scope;
      const { images, collections } = await anOwner(store, 2, 2);
      const [kept, doomed] = images as [Image, Image];
      const [gone, stays] = collections as [Collection, Collection];
      await store.collections.addImages(gone.id, [kept.id, doomed.id], 1);
      await store.collections.addImages(stays.id, [kept.id, doomed.id], 1);
      await store.collections.delete(gone.id);
      assert.deepEqual(ids((await store.collections.collectionsOf([kept.id])).map((m) => m.collection)), [stays.id]);
      await store.images.delete(doomed.id);
      assert.deepEqual(ids((await store.collections.imagesIn([stays.id])).map((m) => m.image)), [kept.id]);
      assert.deepEqual(await store.collections.imagesIn([gone.id]), []);
    });

    test('a rolled-back add leaves no membership; 20 concurrent adds of one image store it once', async () => {
      const { store } = scope;
      const { images, collections } = await anOwner(store, 1, 1);
      const [image, collection] = [images[0]!, collections[0]!];
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.collections.addImages(collection.id, [image.id], 1);
          throw new Error('abandoned');
        }),
        /abandoned/,
      );
      assert.deepEqual(await store.collections.imagesIn([collection.id]), []);
      const added = await Promise.all(Array.from({ length: 20 }, () => store.transaction((tx) => tx.collections.addImages(collection.id, [image.id], 2))));
      assert.equal(added.flat().length, 1, 'exactly one add inserted the row');
      assert.equal((await store.collections.imagesIn([collection.id])).length, 1);
    });

    test('both sides of a batch cost one query whatever its size; images.findByIds too', async (t) => {
      const { store, queries } = scope;
      if (queries === undefined) {
        t.skip('this adapter does not report its queries');
        return;
      }
      const { images, collections } = await anOwner(store, 30, 30);
      for (const collection of collections) await store.collections.addImages(collection.id, ids(images.slice(0, 10)), 1);
      const cost = async (read: () => Promise<unknown>) => {
        const before = queries.length;
        await read();
        return queries.length - before;
      };
      const counts = [
        await cost(() => store.collections.imagesIn(ids(collections.slice(0, 2)))),
        await cost(() => store.collections.imagesIn(ids(collections))),
        await cost(() => store.collections.collectionsOf(ids(images.slice(0, 2)))),
        await cost(() => store.collections.collectionsOf(ids(images))),
        await cost(() => store.images.findByIds(ids(images))),
        await cost(() => store.collections.findByIds(ids(collections))),
      ];
      assert.deepEqual(counts, [1, 1, 1, 1, 1, 1]);
      assert.deepEqual(sortById(await store.images.findByIds([images[0]!.id, randomUUID()])), [images[0]!]);
    });
  });
}
