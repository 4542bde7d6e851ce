import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Upload } from '@tus/server';
import { FsBlobStore } from '../../src/adapters/blob/fs-blob-store.js';
import { SharpImageProcessor } from '../../src/adapters/image/sharp-image-processor.js';
import { openSqliteMetadataStore } from '../../src/adapters/metadata/sqlite.js';
import { FsStagingArea } from '../../src/adapters/staging/fs-staging-area.js';
import { MemoryUploadLocker } from '../../src/adapters/uploads/memory-upload-locker.js';
import { TusFileUploadFiles } from '../../src/adapters/uploads/tus-file-upload-files.js';
import { CollectionService } from '../../src/core/collections/collection-service.js';
import { type ErrorCode, isAppError } from '../../src/core/errors.js';
import { IdempotentWrites } from '../../src/core/idempotency/idempotent-writes.js';
import { DecodeBudget } from '../../src/core/images/decode-budget.js';
import { ImageIngest } from '../../src/core/images/image-ingest.js';
import type { ImageIngested } from '../../src/core/images/image-ingested.js';
import { ImageService } from '../../src/core/images/image-service.js';
import { namedImageSource } from '../../src/core/images/image-source.js';
import { IncompleteUploadRepair } from '../../src/core/images/incomplete-upload-repair.js';
import { UploadImage } from '../../src/core/images/upload-image.js';
import { BulkImport } from '../../src/core/imports/bulk-import.js';
import { AddComment } from '../../src/core/posts/add-comment.js';
import { CreatePost } from '../../src/core/posts/create-post.js';
import { OpaqueCursor } from '../../src/core/posts/opaque-cursor.js';
import { UploadLinkService } from '../../src/core/uploads/upload-link-service.js';
import { UploadService } from '../../src/core/uploads/upload-service.js';
import type { User } from '../../src/core/users/user.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import { aUser } from '../../src/ports/metadata-store.support.contract.js';
import { Metrics } from '../../src/transports/metrics.js';
import { noisePng } from '../support/tus.js';

const rejectsWith = (code: ErrorCode) => (error: unknown) => isAppError(error, code);

/**
 * The write commands on the embedded adapters, without HTTP: every way bytes become an image tells
 * the one ingest listener (which the upload metrics observe), and idempotency is decided by the
 * command's input, so no transport can fingerprint a request differently.
 */
describe('write commands: createPost, addComment, uploadImage and the ingest notification', () => {
  let dir: string;
  let store: MetadataStore;
  let processor: SharpImageProcessor;
  let files: TusFileUploadFiles;
  let ingest: ImageIngest;
  let uploads: UploadService;
  let uploadImage: UploadImage;
  let createPost: CreatePost;
  let addComment: AddComment;
  let links: UploadLinkService;
  let bulkImport: BulkImport;
  let metrics: Metrics;
  let heard: ImageIngested[];
  let alice: User;
  let seed = 1;
  const png = () => noisePng(40, 30, seed++);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-write-commands-'));
    store = openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    await store.migrate();
    processor = new SharpImageProcessor({ maxPixels: 100_000_000, maxDimension: 50_000 });
    files = await TusFileUploadFiles.open(join(dir, 'uploads'), { expiryMs: 60_000, locker: new MemoryUploadLocker() });
    const blobs = new FsBlobStore(join(dir, 'blobs'));
    metrics = new Metrics();
    ingest = new ImageIngest(
      {
        store,
        blobs,
        staging: new FsStagingArea(join(dir, 'staging')),
        processor,
        onImageIngested: (event) => {
          heard.push(event);
          metrics.observeIngest(event);
        },
      },
      { maxPixels: 100_000_000, maxDimension: 50_000, maxBytes: 10_000_000, decodeBudget: new DecodeBudget({ bytes: 512 * 2 ** 20, concurrency: 2 }) },
    );
    uploads = new UploadService({ store, files, ingest }, { expiryMs: 60_000, maxBytes: 10_000_000 });
    uploadImage = new UploadImage({ ingest, uploads });
    const idempotent = new IdempotentWrites(store, { ttlMs: 60_000, leaseMs: 60_000 });
    createPost = new CreatePost({ store, idempotent, uploadImage });
    addComment = new AddComment({ store, idempotent });
    links = new UploadLinkService({ store, ingest }, { maxBytes: 10_000_000, maxImages: 10 });
    const cursors = new OpaqueCursor(randomBytes(32).toString('hex'));
    const images = new ImageService(store, blobs, new IncompleteUploadRepair({ store, blobs }, { maxAgeMs: 60_000 }), cursors);
    bulkImport = new BulkImport({ store, ingest, collections: new CollectionService(store, images, cursors) }, { concurrency: 1, maxBytes: 10_000_000 });
  });
  after(async () => {
    await processor.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    heard = [];
    alice = aUser();
    await store.users.insert(alice);
  });

  async function staged(bytes: Buffer) {
    return ingest.stage(Readable.from([bytes]));
  }

  /** A finished resumable upload of alice's, as the tus server leaves one. */
  async function finishedUpload(bytes: Buffer): Promise<string> {
    const id = randomBytes(16).toString('hex');
    await uploads.begin(alice.id, id, bytes.length);
    await files.datastore.create(new Upload({ id, size: bytes.length, offset: 0 }));
    await files.datastore.write(Readable.from([bytes]), id, 0);
    await uploads.finish(id);
    return id;
  }

  const outcomes = () => heard.map((event) => event.outcome);
  const counted = async (result: string) => (await metrics.uploads.get()).values.find((value) => value.labels.result === result)?.value ?? 0;

  test('uploadImage: staged bytes, a stream and a resumable upload each tell the listener once', async () => {
    const bytes = await png();
    const file = await staged(bytes);
    try {
      assert.equal((await uploadImage.run(alice.id, { staged: file })).duplicate, false);
    } finally {
      await file.discard();
    }
    assert.equal((await uploadImage.fromStream(alice.id, Readable.from([bytes]))).duplicate, true);
    await uploadImage.run(alice.id, { uploadId: await finishedUpload(await png()) });
    assert.deepEqual(outcomes(), ['created', 'duplicate', 'created']);
    assert.ok(heard.every((event) => event.ownerId === alice.id));
  });

  test('a refused image is told with its error, whether refused in staging or at ingest', async () => {
    await assert.rejects(uploadImage.fromStream(alice.id, Readable.from([Buffer.from('not an image at all')])), rejectsWith('UNSUPPORTED_FORMAT'));
    const small = new ImageIngest(
      { store, blobs: new FsBlobStore(join(dir, 'blobs')), staging: new FsStagingArea(join(dir, 'staging')), processor, onImageIngested: (e) => heard.push(e) },
      { maxPixels: 100_000_000, maxDimension: 50_000, maxBytes: 10, decodeBudget: new DecodeBudget({ bytes: 2 ** 20, concurrency: 1 }) },
    );
    await assert.rejects(small.stage(Readable.from([await png()])), rejectsWith('IMAGE_TOO_LARGE'));
    assert.deepEqual(outcomes(), ['refused', 'refused']);
    const [atIngest, atStaging] = heard as Extract<ImageIngested, { outcome: 'refused' }>[];
    assert.ok(isAppError(atIngest?.error, 'UNSUPPORTED_FORMAT') && atIngest.ownerId === alice.id);
    assert.ok(isAppError(atStaging?.error, 'IMAGE_TOO_LARGE') && atStaging.ownerId === null);
  });

  test('createPost from staged bytes or an upload tells the listener; a replayed retry makes no image', async () => {
    const bytes = await png();
    const first = await staged(bytes);
    try {
      const created = await createPost.run(alice, { caption: 'multipart', image: { staged: first } }, 'post-key');
      const again = await createPost.run(alice, { caption: 'multipart', image: { staged: first } }, 'post-key');
      assert.equal(again.replayed, true);
      assert.equal(again.post.id, created.post.id);
    } finally {
      await first.discard();
    }
    await createPost.run(alice, { caption: 'resumable', image: { uploadId: await finishedUpload(await png()) } }, null);
    assert.deepEqual(outcomes(), ['created', 'created'], 'the replay ingested nothing');
  });

  test('upload links and bulk imports tell the listener too, and the metric counts every path', async () => {
    const before = await counted('created');
    const { link } = await links.create({ sinceNow: 'P1D' });
    const file = await staged(await png());
    try {
      await links.receive(link, file);
    } finally {
      await file.discard();
    }
    const bytes = await png();
    const owner = await bulkImport.owner(undefined);
    const summary = await bulkImport.run(owner, [{ path: join(dir, 'imported.png'), size: bytes.length, modifiedAt: 0, open: () => Readable.from([bytes]) }]);
    assert.equal(summary.imported, 1);
    assert.deepEqual(outcomes(), ['created', 'created']);
    assert.equal((await counted('created')) - before, 2);
  });

  test('createPost: the fingerprint is the input, so the same key replays only the same post', async () => {
    const file = await staged(await png());
    let imageId: string;
    try {
      imageId = (await uploadImage.run(alice.id, { staged: file })).image.id;
    } finally {
      await file.discard();
    }
    // What REST's JSON {caption, imageId} and GraphQL's createPost(caption, imageId) both become.
    const image = namedImageSource(imageId, undefined);
    const first = await createPost.run(alice, { caption: 'hello', image }, 'same-key');
    const retry = await createPost.run(alice, { caption: 'hello', image: namedImageSource(imageId, '') }, '"same-key"');
    assert.deepEqual(retry, { post: first.post, replayed: true });
    await assert.rejects(createPost.run(alice, { caption: 'another caption', image }, 'same-key'), rejectsWith('IDEMPOTENCY_KEY_REUSED'));
    await assert.rejects(createPost.run(alice, { caption: 'hello', image: { uploadId: 'some-upload' } }, 'same-key'), rejectsWith('IDEMPOTENCY_KEY_REUSED'));
    // Another user's identical key is another claim.
    const bob = aUser();
    await store.users.insert(bob);
    await assert.rejects(createPost.run(bob, { caption: 'hello', image }, 'same-key'), rejectsWith('NOT_OWNER'));
    // Bad input is refused before the key is claimed: the key stays free for the corrected request.
    await assert.rejects(createPost.run(alice, { caption: 'x'.repeat(2_201), image }, 'fresh-key'), rejectsWith('VALIDATION_FAILED'));
    assert.equal((await createPost.run(alice, { caption: 'fixed', image }, 'fresh-key')).replayed, false);
    await assert.rejects(createPost.run(alice, { caption: 'hello', image }, ''), rejectsWith('INVALID_IDEMPOTENCY_KEY'));
    assert.throws(() => namedImageSource(imageId, 'some-upload'), rejectsWith('VALIDATION_FAILED'));
    assert.throws(() => namedImageSource(null, ''), rejectsWith('VALIDATION_FAILED'));
  });

  test('addComment: a retry with the key replays without a second comment; another body is a reused key', async () => {
    const file = await staged(await png());
    let postId: string;
    try {
      postId = (await createPost.run(alice, { caption: 'for comments', image: { staged: file } }, null)).post.id;
    } finally {
      await file.discard();
    }
    const first = await addComment.run(alice, { postId, body: 'nice' }, 'comment-key');
    assert.deepEqual(await addComment.run(alice, { postId, body: 'nice' }, 'comment-key'), { comment: first.comment, replayed: true });
    await assert.rejects(addComment.run(alice, { postId, body: 'nicer' }, 'comment-key'), rejectsWith('IDEMPOTENCY_KEY_REUSED'));
    assert.equal((await addComment.run(alice, { postId, body: 'no key' }, undefined)).replayed, false);
    assert.equal((await store.posts.findById(postId))?.commentCount, 2);
    await assert.rejects(addComment.run(alice, { postId: 'no-such-post', body: 'hi' }, null), rejectsWith('POST_NOT_FOUND'));
  });
});
