import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { FsBlobStore } from '../../src/adapters/blob/fs-blob-store.js';
import { SharpImageProcessor } from '../../src/adapters/image/sharp-image-processor.js';
import { openSqliteMetadataStore } from '../../src/adapters/metadata/sqlite.js';
import { FsStagingArea } from '../../src/adapters/staging/fs-staging-area.js';
import type { BlobStore } from '../../src/ports/blob-store.js';
import type { ImageProcessor } from '../../src/ports/image-processor.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import { aUser } from '../../src/ports/metadata-store.support.contract.js';
import { noisePng } from '../support/tus.js';
import { AppError, isAppError } from '../../src/core/errors.js';
import type { User } from '../../src/core/users/user.js';
import { derivativeKey, originalKey } from '../../src/core/images/blob-keys.js';
import { DecodeBudget } from '../../src/core/images/decode-budget.js';
import { ImageIngest } from '../../src/core/images/image-ingest.js';

describe('ImageIngest: dedup that reveals nothing, decodes within the budget, holds its pin while it writes', () => {
  let dir: string;
  let store: MetadataStore;
  let blobs: FsBlobStore;
  let sharpProcessor: SharpImageProcessor;
  let renders: number;
  let processor: ImageProcessor;
  let alice: User;
  let bob: User;
  const ingest = (budgetBytes = 512 * 2 ** 20, blobStore: BlobStore = blobs, metadata: MetadataStore = store) =>
    new ImageIngest(
      { store: metadata, blobs: blobStore, staging: new FsStagingArea(join(dir, 'staging')), processor },
      { maxPixels: 100_000_000, maxDimension: 50_000, maxBytes: 10_000_000, decodeBudget: new DecodeBudget({ bytes: budgetBytes, concurrency: 2 }) },
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-ingest-core-'));
    store = openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    await store.migrate();
    blobs = new FsBlobStore(join(dir, 'blobs'));
    sharpProcessor = new SharpImageProcessor({ maxPixels: 100_000_000, maxDimension: 50_000 });
    // The real processor, counting renders: what the two paths do is the point, not their speed.
    processor = {
      probe: (path) => sharpProcessor.probe(path),
      renderDerivative: (path, probe) => {
        renders++;
        return sharpProcessor.renderDerivative(path, probe);
      },
      readMetadata: (path, format) => sharpProcessor.readMetadata(path, format),
      close: () => sharpProcessor.close(),
    };
    alice = aUser({ username: 'alice' });
    bob = aUser({ username: 'bob' });
    await store.users.insert(alice);
    await store.users.insert(bob);
  });
  after(async () => {
    await sharpProcessor.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("another user's copy of existing bytes is rendered and written like fresh bytes; the owner's own re-upload is not", async () => {
    const png = await noisePng(90, 60, 7);
    renders = 0;
    const first = await ingest().ingestStream(alice.id, Readable.from([png]));
    assert.equal(renders, 1);
    const written = (await blobs.head(derivativeKey(first.image.sha256)))!.modifiedAt;

    const bobs = await ingest().ingestStream(bob.id, Readable.from([png]));
    assert.equal(bobs.duplicate, false);
    assert.notEqual(bobs.image.id, first.image.id);
    assert.equal(renders, 2, "another user's upload renders, as a fresh one does");
    // Written again (same bytes, atomic replace): the same work, down to the fsync.
    const rewritten = await blobs.head(derivativeKey(first.image.sha256));
    assert.ok(rewritten && rewritten.modifiedAt >= written);

    const again = await ingest().ingestStream(alice.id, Readable.from([png]));
    assert.equal(again.duplicate, true);
    assert.equal(again.image.id, first.image.id);
    assert.equal(renders, 2, 'the owner knows they have it: the fast path is allowed');
  });

  test('an image whose decode needs more than the whole budget is refused before anything is stored', async () => {
    const png = await noisePng(64, 64, 8);
    renders = 0;
    await assert.rejects(ingest(16 * 2 ** 20).ingestStream(alice.id, Readable.from([png])), (error: unknown) => {
      assert.ok(isAppError(error, 'IMAGE_DIMENSIONS_TOO_LARGE'));
      assert.match(error.message, /64×64 PNG.*MiB of memory.*at most 16 MiB/);
      return true;
    });
    assert.equal(renders, 0);
    assert.equal(await store.images.findByOwnerAndHash(alice.id, createHash('sha256').update(png).digest('hex')), null);
  });

  test('a render that fails after the pin was taken leaves no pin, no blob and no row', async () => {
    const png = await noisePng(48, 32, 9);
    // A valid header over cut-off pixel data: the probe accepts it, the render refuses it.
    const truncated = png.subarray(0, png.length - 40);
    const sha256 = createHash('sha256').update(truncated).digest('hex');
    renders = 0;
    await assert.rejects(ingest().ingestStream(alice.id, Readable.from([truncated])), (error: unknown) => isAppError(error, 'CORRUPT_IMAGE'));
    assert.equal(renders, 1, 'refused by the render, not by the probe');
    assert.equal(await store.images.findByOwnerAndHash(alice.id, sha256), null);
    assert.equal(await blobs.head(derivativeKey(sha256)), null);
    assert.equal(await blobs.head(originalKey(sha256)), null);
    assert.equal(await store.blobRecords.deleteExpiredPins(Number.MAX_SAFE_INTEGER), 0, 'the pin was released');
  });

  test('when one blob write fails, the pin is released only after the other write has ended, and no row is stored', async () => {
    const png = await noisePng(40, 30, 10);
    const sha256 = createHash('sha256').update(png).digest('hex');
    const order: string[] = [];
    let finishOriginal!: () => void;
    const originalMayFinish = new Promise<void>((resolve) => {
      finishOriginal = resolve;
    });
    // The derivative's write fails at once; the original's is still linking when it does.
    const failing: BlobStore = Object.assign(Object.create(blobs) as FsBlobStore, {
      put: async () => {
        order.push('derivative write failed');
        queueMicrotask(finishOriginal);
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      },
      putFile: async (key: string, path: string, options?: { sourceSynced?: boolean }) => {
        await originalMayFinish;
        const result = await blobs.putFile(key, path, options);
        order.push('original written');
        return result;
      },
    });
    const watched: MetadataStore = Object.assign(Object.create(store) as MetadataStore, {
      blobRecords: Object.assign(Object.create(store.blobRecords) as MetadataStore['blobRecords'], {
        unpin: (pinId: string) => {
          order.push('pin released');
          return store.blobRecords.unpin(pinId);
        },
      }),
    });
    await assert.rejects(ingest(undefined, failing, watched).ingestStream(alice.id, Readable.from([png])));
    assert.deepEqual(order, ['derivative write failed', 'original written', 'pin released']);
    assert.equal(await store.images.findByOwnerAndHash(alice.id, sha256), null);
    assert.equal(await store.blobRecords.deleteExpiredPins(Number.MAX_SAFE_INTEGER), 0);
  });

  test('the original is published only once its staged bytes are durable; a failed sync fails the upload and stores nothing', async () => {
    const staging = new FsStagingArea(join(dir, 'staging'));
    const published: string[] = [];
    const watching: BlobStore = Object.assign(Object.create(blobs) as FsBlobStore, {
      putFile: (key: string, path: string, options?: { sourceSynced?: boolean }) => {
        published.push(key);
        return blobs.putFile(key, path, options);
      },
    });
    const gated = async (seed: number) => {
      const staged = await staging.receive(Readable.from([await noisePng(36, 24, seed)]), 1_000_000);
      await staged.durable;
      let settle!: { resolve(): void; reject(error: Error): void };
      const durable = new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
      // As staging's own: a rejection nobody awaits yet is not an unhandled one.
      durable.catch(() => {});
      return { staged: { ...staged, durable }, settle };
    };

    const slow = await gated(11);
    const upload = ingest(undefined, watching).ingestStaged(alice.id, slow.staged);
    // The derivative is stored while the original waits for its bytes to be on disk.
    await waitFor(() => blobs.head(derivativeKey(slow.staged.sha256)));
    assert.deepEqual(published, []);
    slow.settle.resolve();
    assert.equal((await upload).duplicate, false);
    assert.deepEqual(published, [originalKey(slow.staged.sha256)]);
    await slow.staged.discard();

    const failing = await gated(12);
    const refused = ingest(undefined, watching).ingestStaged(alice.id, failing.staged);
    failing.settle.reject(new AppError('STORAGE_FULL', 'The disk is full'));
    await assert.rejects(refused, (error: unknown) => isAppError(error, 'STORAGE_FULL'));
    assert.deepEqual(published, [originalKey(slow.staged.sha256)]);
    assert.equal(await store.images.findByOwnerAndHash(alice.id, failing.staged.sha256), null);
    assert.equal(await blobs.head(originalKey(failing.staged.sha256)), null);
    assert.equal(await store.blobRecords.deleteExpiredPins(Number.MAX_SAFE_INTEGER), 0);
    await failing.staged.discard();
  });
});

/** Polls `probe` on the event loop until it returns something truthy (the condition, not a duration). */
async function waitFor(probe: () => Promise<unknown>): Promise<void> {
  while (!(await probe())) await new Promise((resolve) => setImmediate(resolve));
}
