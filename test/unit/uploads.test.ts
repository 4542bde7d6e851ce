import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
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
import { type ErrorCode, isAppError } from '../../src/core/errors.js';
import { ImageIngest } from '../../src/core/images/image-ingest.js';
import { DecodeBudget } from '../../src/core/images/decode-budget.js';
import { UploadService } from '../../src/core/uploads/upload-service.js';
import { removeUnrecordedUploadFiles, sweepExpiredUploads } from '../../src/core/uploads/upload-sweep.js';
import type { User } from '../../src/core/users/user.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import { aUser } from '../../src/ports/metadata-store.support.contract.js';
import { noisePng, sha256 } from '../support/tus.js';

const expiryMs = 60_000;
const rejectsWith = (code: ErrorCode) => (error: unknown) => isAppError(error, code);

describe('UploadService and the upload sweep, on the embedded adapters', () => {
  let dir: string;
  let store: MetadataStore;
  let files: TusFileUploadFiles;
  let processor: SharpImageProcessor;
  let uploads: UploadService;
  let clock: number;
  let alice: User;
  let png: Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-uploads-core-'));
    store = openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    await store.migrate();
    files = await TusFileUploadFiles.open(join(dir, 'uploads'), { expiryMs, locker: new MemoryUploadLocker() });
    processor = new SharpImageProcessor({ maxPixels: 100_000_000, maxDimension: 50_000 });
    const ingest = new ImageIngest(
      { store, blobs: new FsBlobStore(join(dir, 'blobs')), staging: new FsStagingArea(join(dir, 'staging')), processor },
      { maxPixels: 100_000_000, maxDimension: 50_000, maxBytes: 10_000_000, decodeBudget: new DecodeBudget({ bytes: 512 * 2 ** 20, concurrency: 2 }) },
    );
    uploads = new UploadService({ store, files, ingest }, { expiryMs, maxBytes: 10_000_000, claimMs: 30_000, now: () => clock });
    png = await noisePng(120, 80, 42);
  });
  after(async () => {
    await processor.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    clock = Date.now();
    alice = aUser();
    await store.users.insert(alice);
  });

  /** What the tus server does: register the upload, create its file, write bytes. */
  async function startUpload(bytes: Buffer, arrived = bytes.length): Promise<string> {
    const id = randomBytes(16).toString('hex');
    await uploads.begin(alice.id, id, bytes.length);
    await files.datastore.create(new Upload({ id, size: bytes.length, offset: 0 }));
    await files.datastore.write(Readable.from([bytes.subarray(0, arrived)]), id, 0);
    return id;
  }

  test('lengths are checked before anything is stored', () => {
    assert.throws(() => uploads.assertAcceptableLength(10_000_001), rejectsWith('IMAGE_TOO_LARGE'));
    assert.throws(() => uploads.assertAcceptableLength(0), rejectsWith('VALIDATION_FAILED'));
    assert.throws(() => uploads.assertAcceptableLength(1.5), rejectsWith('VALIDATION_FAILED'));
    uploads.assertAcceptableLength(10_000_000);
  });

  test('finish re-hashes the bytes, is idempotent, and appends one event', async () => {
    const id = await startUpload(png);
    const finished = await uploads.finish(id);
    assert.equal(finished.sha256, sha256(png));
    assert.equal((await uploads.finish(id)).finishedAt, finished.finishedAt);
    const events = (await store.events.list(0, 10_000)).filter((e) => e.subjectId === id).map((e) => e.type);
    assert.deepEqual(events, ['ResumableUploadCreated', 'ResumableUploadFinished']);
  });

  test('an upload whose last byte arrived but was never marked finished (a crash) is finished when used', async () => {
    const id = await startUpload(png);
    const { image, duplicate } = await uploads.consume(alice.id, id);
    assert.equal(image.sha256, sha256(png));
    assert.equal(duplicate, false);
    assert.equal(await files.received(id), null, 'the bytes moved to the blob store');
    await assert.rejects(uploads.consume(alice.id, id), rejectsWith('UPLOAD_ALREADY_CONSUMED'));
  });

  test('an unfinished upload cannot be used; a foreign or unknown one is not found; an expired one is gone', async () => {
    const id = await startUpload(png, 100);
    await assert.rejects(uploads.consume(alice.id, id), rejectsWith('UPLOAD_NOT_FINISHED'));
    const bob = aUser();
    await store.users.insert(bob);
    await assert.rejects(uploads.consume(bob.id, id), rejectsWith('UPLOAD_NOT_FOUND'));
    await assert.rejects(uploads.requireOwn(bob.id, id), rejectsWith('UPLOAD_NOT_FOUND'));
    await assert.rejects(uploads.consume(alice.id, 'f'.repeat(32)), rejectsWith('UPLOAD_NOT_FOUND'));
    clock += expiryMs;
    await assert.rejects(uploads.requireOwn(alice.id, id), rejectsWith('UPLOAD_EXPIRED'));
    await assert.rejects(uploads.consume(alice.id, id), rejectsWith('UPLOAD_EXPIRED'));
  });

  test('of concurrent consumes exactly one makes the image; the others are refused', async () => {
    const id = await startUpload(await noisePng(120, 80, 7));
    await uploads.finish(id);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => uploads.consume(alice.id, id)));
    const made = outcomes.filter((o) => o.status === 'fulfilled');
    assert.equal(made.length, 1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected')
        assert.ok(isAppError(outcome.reason, 'UPLOAD_IN_USE') || isAppError(outcome.reason, 'UPLOAD_ALREADY_CONSUMED'), String(outcome.reason));
    }
  });

  test('a refused image leaves the upload usable for the same answer, and nothing created', async () => {
    const text = Buffer.from('plain text, not an image\n'.repeat(20));
    const id = await startUpload(text);
    await assert.rejects(uploads.consume(alice.id, id), rejectsWith('UNSUPPORTED_FORMAT'));
    await assert.rejects(uploads.consume(alice.id, id), rejectsWith('UNSUPPORTED_FORMAT'));
    assert.equal((await store.uploads.findById(id))?.claimedUntil, null);
    assert.equal(await store.images.findByOwnerAndHash(alice.id, sha256(text)), null);
  });

  test('termination removes row and bytes, but never an upload being used or already used', async () => {
    const id = await startUpload(png, 10);
    await uploads.terminate(alice.id, id);
    assert.equal(await store.uploads.findById(id), null);
    assert.equal(await files.received(id), null);
    await assert.rejects(uploads.terminate(alice.id, id), rejectsWith('UPLOAD_NOT_FOUND'));

    const held = await startUpload(await noisePng(60, 40, 8));
    await uploads.finish(held);
    await store.uploads.claim(held, alice.id, clock, clock + 30_000);
    await assert.rejects(uploads.terminate(alice.id, held), rejectsWith('UPLOAD_IN_USE'));
    assert.notEqual(await files.received(held), null);
  });

  test('the sweep removes expired uploads and old orphans, spares the rest, and is idempotent', async () => {
    const expired = await startUpload(png, 50);
    const finishedUnused = await startUpload(await noisePng(60, 40, 9));
    await uploads.finish(finishedUnused);
    clock += expiryMs / 2;
    const fresh = await startUpload(png, 50);
    const claimed = await startUpload(await noisePng(60, 40, 10));
    await uploads.finish(claimed);
    clock += expiryMs / 2;
    await store.uploads.claim(claimed, alice.id, clock - expiryMs, clock + 1_000); // claimed before it expired
    // Bytes without a row: one left over long ago, one brand new.
    const [oldOrphan, newOrphan] = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
    for (const id of [oldOrphan, newOrphan]) {
      await files.datastore.create(new Upload({ id, size: 5, offset: 0 }));
    }
    const longAgo = new Date(clock - expiryMs - 1_000);
    await utimes(join(dir, 'uploads', oldOrphan), longAgo, longAgo);
    await utimes(join(dir, 'uploads', `${oldOrphan}.json`), longAgo, longAgo);

    const report = await sweepExpiredUploads({ store, files }, { now: clock, orphanAgeMs: expiryMs });
    // Earlier tests' uploads (same store) have expired by now too.
    assert.deepEqual({ ...report, expired: report.expired >= 2, bytes: report.bytes > 0 }, { expired: true, orphans: 1, failed: 0, bytes: true });
    for (const id of [expired, finishedUnused, oldOrphan]) assert.equal(await files.received(id), null, id);
    for (const id of [fresh, claimed, newOrphan]) assert.notEqual(await files.received(id), null, id);
    assert.equal(await store.uploads.findById(expired), null);
    assert.notEqual(await store.uploads.findById(fresh), null);
    const events = (await store.events.list(0, 10_000)).filter((e) => e.type === 'ResumableUploadExpired').map((e) => e.subjectId);
    assert.ok(events.includes(expired) && events.includes(finishedUnused) && !events.includes(fresh) && !events.includes(claimed));

    assert.deepEqual(await sweepExpiredUploads({ store, files }, { now: clock, orphanAgeMs: expiryMs }), { expired: 0, orphans: 0, failed: 0, bytes: 0 });
  });

  test('at start-up, upload bytes without a row go whatever their age; bytes with a row stay', async () => {
    const tracked = await startUpload(png, 50);
    const orphan = randomBytes(16).toString('hex');
    await files.datastore.create(new Upload({ id: orphan, size: 5, offset: 0 }));
    // The sweep test's new orphan (same store) goes too.
    assert.ok((await removeUnrecordedUploadFiles({ store, files }, { batchSize: 2 })) >= 1);
    assert.equal(await files.received(orphan), null);
    assert.equal(await files.received(tracked), 50);
    assert.equal(await removeUnrecordedUploadFiles({ store, files }), 0);
  });
});
