import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { FsBlobStore } from '../../src/adapters/blob/fs-blob-store.js';
import { openPostgresMetadataStore } from '../../src/adapters/metadata/postgres.js';
import { openSqliteMetadataStore } from '../../src/adapters/metadata/sqlite.js';
import { originalKey } from '../../src/core/images/blob-keys.js';
import { type Image, noPhotoMetadata } from '../../src/core/images/image.js';
import { newId } from '../../src/core/ids.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import { distinctPng, eventually, problemOf, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { graphql } from '../support/graphql.js';
import { isPostgresRequested } from '../support/postgres.js';
import { startServer, type RunningServer } from '../support/server.js';

const hourMs = 3_600_000;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface AdminEvent {
  position: number;
  type: string;
  actorId: string | null;
  subjectId: string;
  payload: Record<string, unknown>;
}

/**
 * Read repair: image rows without `uploadCompletedAt` are made directly in the server's
 * own store (nothing in the API creates them: they are what a crash, another writer or an older
 * version leaves), then read over REST and GraphQL.
 */
describe('read repair of images whose upload never completed', () => {
  let server: RunningServer;
  let store: MetadataStore;
  let blobs: FsBlobStore;
  let scratch: string;
  let alice: TestUser;
  let bob: TestUser;
  let seed = 100;

  /** A row for `owner` over new PNG bytes, without `uploadCompletedAt`; with its original in the blob store when `withBlob`. */
  async function incompleteImage(owner: TestUser, { ageMs, withBlob }: { ageMs: number; withBlob: boolean }): Promise<{ image: Image; bytes: Buffer }> {
    const bytes = await distinctPng((seed += 1));
    const image: Image = {
      id: newId(),
      ownerId: owner.id,
      sha256: sha256(bytes),
      format: 'png',
      width: 48,
      height: 32,
      size: bytes.length,
      status: 'pending',
      createdAt: Date.now() - ageMs,
      uploadCompletedAt: null,
      metadataExtractedAt: null,
      ...noPhotoMetadata,
      sharesLocation: false,
      sharesTakenAt: false,
    };
    if (withBlob) {
      const path = join(scratch, `${image.sha256}.png`);
      await writeFile(path, bytes);
      await blobs.putFile(originalKey(image.sha256), path);
    }
    const { created } = await store.images.insertOrGetExisting(image);
    assert.equal(created, true);
    return { image, bytes };
  }

  const eventsAbout = async (subjectId: string): Promise<AdminEvent[]> => {
    const response = await fetch(`${server.baseUrl}/admin/events?after=0&limit=1000`, { headers: { 'x-access-token': server.adminToken } });
    assert.equal(response.status, 200);
    const { events } = (await response.json()) as { events: AdminEvent[] };
    return events.filter((event) => event.subjectId === subjectId);
  };
  const metadata = async (id: string) => {
    const response = await fetch(`${server.baseUrl}/images/${id}`);
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const graphqlImage = async (id: string) => {
    const { status, body } = await graphql<{ image: { id: string } | null }>(server.baseUrl, 'query($id: ID!) { image(id: $id) { id } }', { id }, alice);
    assert.equal(status, 200);
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data!.image;
  };

  before(async () => {
    // No periodic garbage collection: only reads may repair here.
    server = await startServer({ env: { GC_INTERVAL_SECONDS: '0' } });
    store = isPostgresRequested() ? openPostgresMetadataStore(server.env.DATABASE_URL!) : openSqliteMetadataStore(join(server.dataDir, 'imagegram.sqlite'));
    blobs = new FsBlobStore(join(server.dataDir, 'blobs'));
    scratch = await mkdtemp(join(tmpdir(), 'imagegram-read-repair-'));
    [alice, bob] = await Promise.all([signUpAndLogIn(server.baseUrl, 'alice'), signUpAndLogIn(server.baseUrl, 'bob')]);
  });
  after(async () => {
    await store?.close();
    await rm(scratch, { recursive: true, force: true });
    await server.cleanup();
  });

  test('REST, blob present: the read completes the upload (UploadCompleted by read-repair), however old the row, and the JPEG follows', async () => {
    const { image } = await incompleteImage(alice, { ageMs: 2 * hourMs, withBlob: true });
    const read = await metadata(image.id);
    assert.equal(read.status, 200);
    assert.equal(read.body.status, 'ready');
    assert.ok(read.body.uploadCompletedAt);
    const row = await store.images.findById(image.id);
    assert.equal(row?.status, 'ready');
    assert.ok(row?.uploadCompletedAt);
    // A second read has nothing left to repair.
    assert.equal((await metadata(image.id)).status, 200);
    const events = await eventsAbout(image.id);
    assert.deepEqual(
      events.filter((event) => event.type === 'UploadCompleted').map(({ actorId, payload }) => ({ actorId, payload })),
      [{ actorId: null, payload: { repairedBy: 'read-repair' } }],
    );
    // The repair queued the missing rendering and the EXIF read.
    const jpeg = await eventually(
      async () => {
        const response = await fetch(`${server.baseUrl}/images/${image.id}.jpg`);
        const bytes = Buffer.from(await response.arrayBuffer());
        return response.status === 200 ? bytes : undefined;
      },
      { what: 'the derivative of the repaired image' },
    );
    const rendered = await sharp(jpeg).metadata();
    assert.deepEqual([rendered.format, rendered.width, rendered.height], ['jpeg', 600, 600]);
    await eventually(async () => ((await metadata(image.id)).body.metadataExtractedAt ? true : undefined), { what: 'metadata extraction after repair' });
  });

  test('REST, blob absent and created 2 h ago: 404, the row is gone with an ImageDeleted (upload-never-completed); the JPEG path too', async () => {
    const { image } = await incompleteImage(alice, { ageMs: 2 * hourMs, withBlob: false });
    const read = await fetch(`${server.baseUrl}/images/${image.id}`);
    assert.equal(read.status, 404);
    assert.equal((await problemOf(read)).code, 'IMAGE_NOT_FOUND');
    assert.equal(await store.images.findById(image.id), null);
    const again = await fetch(`${server.baseUrl}/images/${image.id}`);
    assert.equal(again.status, 404);
    await again.arrayBuffer();
    const deleted = (await eventsAbout(image.id)).filter((event) => event.type === 'ImageDeleted');
    assert.equal(deleted.length, 1, 'retired once');
    assert.equal(deleted[0]!.actorId, null);
    assert.equal(deleted[0]!.payload.reason, 'upload-never-completed');
    assert.equal(deleted[0]!.payload.sha256, image.sha256);

    const { image: viaJpeg } = await incompleteImage(alice, { ageMs: 2 * hourMs, withBlob: false });
    const jpeg = await fetch(`${server.baseUrl}/images/${viaJpeg.id}.jpg`);
    assert.equal(jpeg.status, 404);
    assert.equal((await problemOf(jpeg)).code, 'IMAGE_NOT_FOUND');
    assert.equal(await store.images.findById(viaJpeg.id), null);
    assert.deepEqual(
      (await eventsAbout(viaJpeg.id)).map((event) => event.type),
      ['ImageDeleted'],
    );
  });

  test('REST, blob absent and fresh (or under an hour old): status pending, JPEG 404 IMAGE_NOT_READY, nothing changed', async () => {
    for (const ageMs of [0, 50 * 60_000]) {
      const { image } = await incompleteImage(alice, { ageMs, withBlob: false });
      const read = await metadata(image.id);
      assert.equal(read.status, 200, `age ${ageMs}`);
      assert.equal(read.body.status, 'pending');
      assert.equal(read.body.uploadCompletedAt, null);
      const jpeg = await fetch(`${server.baseUrl}/images/${image.id}.jpg`);
      assert.equal(jpeg.status, 404);
      assert.equal((await problemOf(jpeg)).code, 'IMAGE_NOT_READY');
      const row = await store.images.findById(image.id);
      assert.deepEqual([row?.status, row?.uploadCompletedAt], ['pending', null]);
      assert.deepEqual(await eventsAbout(image.id), []);
    }
  });

  test('GraphQL image(id:) repairs the same way: completed, null for the retired one, still there while pending', async () => {
    const { image: present } = await incompleteImage(bob, { ageMs: 0, withBlob: true });
    const { image: abandoned } = await incompleteImage(bob, { ageMs: 2 * hourMs, withBlob: false });
    const { image: pending } = await incompleteImage(bob, { ageMs: 0, withBlob: false });

    assert.deepEqual(await graphqlImage(present.id), { id: present.id });
    assert.ok((await store.images.findById(present.id))?.uploadCompletedAt);
    assert.deepEqual(
      (await eventsAbout(present.id)).map(({ type, payload }) => ({ type, payload })),
      [{ type: 'UploadCompleted', payload: { repairedBy: 'read-repair' } }],
    );

    assert.equal(await graphqlImage(abandoned.id), null);
    assert.equal(await store.images.findById(abandoned.id), null);
    const retired = await eventsAbout(abandoned.id);
    assert.deepEqual(
      retired.map(({ type, payload }) => [type, payload.reason]),
      [['ImageDeleted', 'upload-never-completed']],
    );

    assert.deepEqual(await graphqlImage(pending.id), { id: pending.id });
    assert.deepEqual((await store.images.findById(pending.id))?.uploadCompletedAt, null);
    assert.deepEqual(await eventsAbout(pending.id), []);

    // Several at once (one batched load) behave alike.
    const { image: present2 } = await incompleteImage(bob, { ageMs: 0, withBlob: true });
    const { image: abandoned2 } = await incompleteImage(bob, { ageMs: 3 * hourMs, withBlob: false });
    const { body } = await graphql<Record<string, { id: string } | null>>(
      server.baseUrl,
      'query($a: ID!, $b: ID!, $c: ID!) { a: image(id: $a) { id } b: image(id: $b) { id } c: image(id: $c) { id } }',
      { a: present2.id, b: abandoned2.id, c: pending.id },
      alice,
    );
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    assert.deepEqual(body.data, { a: { id: present2.id }, b: null, c: { id: pending.id } });
    assert.ok((await store.images.findById(present2.id))?.uploadCompletedAt);
    assert.equal(await store.images.findById(abandoned2.id), null);
  });

  test('a pending row whose owner then uploads the same bytes becomes complete: the upload returns it', async () => {
    const { image, bytes } = await incompleteImage(alice, { ageMs: 0, withBlob: false });
    const response = await uploadImage(server.baseUrl, alice, bytes, 'again.png', 'image/png');
    assert.ok(response.status === 200 || response.status === 201, String(response.status));
    const uploaded = (await response.json()) as { id: string; hash: string };
    assert.equal(uploaded.id, image.id);
    assert.equal(uploaded.hash, image.sha256);

    const read = await metadata(image.id);
    assert.equal(read.body.status, 'ready');
    assert.ok(read.body.uploadCompletedAt);
    const jpeg = await fetch(`${server.baseUrl}/images/${image.id}.jpg`);
    assert.equal(jpeg.status, 200);
    assert.equal(jpeg.headers.get('content-type'), 'image/jpeg');
    await jpeg.arrayBuffer();
    assert.deepEqual(
      (await eventsAbout(image.id)).filter((event) => event.type === 'UploadCompleted').map(({ actorId, payload }) => ({ actorId, payload })),
      [{ actorId: alice.id, payload: { repairedBy: 'upload' } }],
    );
    // Another user's upload of those bytes is a new image of their own.
    const bobs = (await (await uploadImage(server.baseUrl, bob, bytes, 'same.png', 'image/png')).json()) as { id: string; duplicate: boolean };
    assert.notEqual(bobs.id, image.id);
    assert.equal(bobs.duplicate, false);
  });

  test('the completed row gets its EXIF read like any upload', async () => {
    const { image, bytes } = await incompleteImage(alice, { ageMs: 0, withBlob: false });
    assert.equal((await uploadImage(server.baseUrl, alice, bytes, 'again.png', 'image/png')).status < 300, true);
    await eventually(async () => ((await metadata(image.id)).body.metadataExtractedAt ? true : undefined), {
      timeoutMs: 5_000,
      what: 'metadata extraction of the upload-completed row',
    });
  });
});
