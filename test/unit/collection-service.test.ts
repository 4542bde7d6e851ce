import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FsBlobStore } from '../../src/adapters/blob/fs-blob-store.js';
import { openSqliteMetadataStore } from '../../src/adapters/metadata/sqlite.js';
import { CollectionService } from '../../src/core/collections/collection-service.js';
import { isAppError } from '../../src/core/errors.js';
import { ImageService } from '../../src/core/images/image-service.js';
import { IncompleteUploadRepair } from '../../src/core/images/incomplete-upload-repair.js';
import { OpaqueCursor } from '../../src/core/posts/opaque-cursor.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import { anImage, aUser } from '../../src/ports/metadata-store.support.contract.js';

describe('CollectionService: changes and their CollectionChanged events commit together', () => {
  let dir: string;
  let store: MetadataStore;
  let collections: CollectionService;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-collections-'));
    store = openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    await store.migrate();
    const blobs = new FsBlobStore(join(dir, 'blobs'));
    const cursors = new OpaqueCursor('secret-secret-secret');
    const images = new ImageService(store, blobs, new IncompleteUploadRepair({ store, blobs }, { maxAgeMs: 3_600_000 }), cursors);
    collections = new CollectionService(store, images, cursors);
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function owner(images: number) {
    const user = aUser();
    const owned = Array.from({ length: images }, () => anImage(user.id, { status: 'ready' }));
    await store.transaction(async (tx) => {
      await tx.users.insert(user);
      for (const image of owned) await tx.images.insertOrGetExisting(image);
    });
    return { user, images: owned.map((image) => image.id) };
  }

  const changes = async (collectionId: string) =>
    (await store.events.list(0, 1000)).filter((e) => e.type === 'CollectionChanged' && e.subjectId === collectionId).map((e) => e.payload);

  test('every real change appends one event; a no-op appends none', async () => {
    const { user, images } = await owner(2);
    const { id } = await collections.create(user, 'Trip');
    await collections.addImages(user, id, images);
    await collections.addImages(user, id, images);
    await collections.removeImages(user, id, ['not-a-member']);
    await collections.rename(user, id, 'Trip 2');
    await collections.removeImages(user, id, [images[0]!]);
    await collections.delete(user, id);
    assert.deepEqual(await changes(id), [
      { change: 'created', name: 'Trip' },
      { change: 'imagesAdded', imageIds: [...images].sort() },
      { change: 'renamed', name: 'Trip 2' },
      { change: 'imagesRemoved', imageIds: [images[0]] },
      { change: 'deleted' },
    ]);
  });

  test("a refused change leaves neither rows nor events: someone else's image in the list", async () => {
    const alice = await owner(1);
    const bob = await owner(1);
    const { id } = await collections.create(alice.user, 'Mine');
    await assert.rejects(collections.addImages(alice.user, id, [alice.images[0]!, bob.images[0]!]), (e) => isAppError(e, 'NOT_OWNER'));
    await assert.rejects(collections.addImages(bob.user, id, bob.images), (e) => isAppError(e, 'NOT_OWNER'));
    await assert.rejects(collections.addImages(alice.user, id, ['missing']), (e) => isAppError(e, 'IMAGE_NOT_FOUND'));
    assert.deepEqual((await collections.imagesOf([id], null)).get(id), []);
    assert.deepEqual(await changes(id), [{ change: 'created', name: 'Mine' }]);
  });

  test('images are shown as the viewer may see them: GPS only for the owner', async () => {
    const { user, images } = await owner(1);
    const { id } = await collections.create(user, 'Places');
    await collections.addImages(user, id, images);
    const [forOwner] = (await collections.imagesOf([id], user)).get(id)!;
    const [forOthers] = (await collections.imagesOf([id], null)).get(id)!;
    assert.notEqual(forOwner!.gpsLatitude, null);
    assert.notEqual(forOwner!.visible.gps, null);
    assert.equal(forOthers!.gpsLatitude, null);
    assert.deepEqual(
      { gps: forOthers!.visible.gps, takenAt: forOthers!.visible.takenAt, hasGps: forOthers!.visible.hasGps },
      { gps: null, takenAt: null, hasGps: null },
    );
  });
});
