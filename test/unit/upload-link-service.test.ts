import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { FsBlobStore } from '../../src/adapters/blob/fs-blob-store.js';
import { SharpImageProcessor } from '../../src/adapters/image/sharp-image-processor.js';
import { openSqliteMetadataStore } from '../../src/adapters/metadata/sqlite.js';
import { FsStagingArea } from '../../src/adapters/staging/fs-staging-area.js';
import { type ErrorCode, isAppError } from '../../src/core/errors.js';
import { DecodeBudget } from '../../src/core/images/decode-budget.js';
import { ImageIngest } from '../../src/core/images/image-ingest.js';
import type { UploadLink } from '../../src/core/uploads/upload-link.js';
import { UploadLinkService } from '../../src/core/uploads/upload-link-service.js';
import type { StagedFile } from '../../src/ports/staging-area.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import { noisePng } from '../support/tus.js';

const rejectsWith = (code: ErrorCode) => (error: unknown) => isAppError(error, code);

// A fixed instant, so T is a known number rather than whatever the wall clock says.
const t0 = Date.UTC(2030, 0, 31, 12, 0, 0);
const hourMs = 3_600_000;

/**
 * Upload-link expiry at its boundary, on a real SQLite file without HTTP: the service's clock is
 * a variable the tests move, so "exactly at T" is an instant, not a race with a sleep.
 */
describe('UploadLinkService: a link expires at exactly its expiry instant', () => {
  let dir: string;
  let store: MetadataStore;
  let processor: SharpImageProcessor;
  let ingest: ImageIngest;
  let links: UploadLinkService;
  let clock: number;
  let seed = 1;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-upload-link-service-'));
    store = openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    await store.migrate();
    processor = new SharpImageProcessor({ maxPixels: 100_000_000, maxDimension: 50_000 });
    ingest = new ImageIngest(
      { store, blobs: new FsBlobStore(join(dir, 'blobs')), staging: new FsStagingArea(join(dir, 'staging')), processor },
      { maxPixels: 100_000_000, maxDimension: 50_000, maxBytes: 10_000_000, decodeBudget: new DecodeBudget({ bytes: 512 * 2 ** 20, concurrency: 2 }) },
    );
    links = new UploadLinkService({ store, ingest }, { maxBytes: 10_000_000, maxImages: 10, now: () => clock });
  });
  after(async () => {
    await processor.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    clock = t0;
  });

  /** A link minted at T0 that expires at T = T0 + 1 h, with its token. */
  async function mintLink(): Promise<{ link: UploadLink; token: string; expiresAt: number }> {
    const { link, token } = await links.create({ sinceNow: 'PT1H' });
    // The boundary the tests probe is the one the service computed, not one they assume.
    assert.equal(link.expiresAt, t0 + hourMs);
    return { link, token, expiresAt: link.expiresAt };
  }

  /** Fresh bytes each time: a repeated image would be a duplicate and prove less. */
  async function stagedPng(): Promise<StagedFile> {
    return ingest.stage(Readable.from([await noisePng(40, 30, seed++)]));
  }

  /** What the link has taken, as an admin would see it. */
  async function usage(link: UploadLink) {
    const current = await links.get(link.id);
    const images = await links.images(link.id, null, 100);
    const received = (await store.events.list(0, 100_000)).filter((e) => e.subjectId === link.id && e.type === 'UploadLinkImageReceived');
    return { usedImages: current.usedImages, usedBytes: current.usedBytes, images: images.length, received: received.length };
  }

  test('a link is usable 1 ms before its expiry and refused as expired at that instant and after', async () => {
    const { link, token, expiresAt } = await mintLink();

    clock = expiresAt - 1;
    assert.equal((await links.open(token)).id, link.id);

    clock = expiresAt;
    await assert.rejects(links.open(token), rejectsWith('UPLOAD_LINK_EXPIRED'));

    clock = expiresAt + 1;
    await assert.rejects(links.open(token), rejectsWith('UPLOAD_LINK_EXPIRED'));
  });

  test('an upload through a link opened 1 ms before its expiry is taken and counted', async () => {
    // The control for the next test: the same path, a millisecond earlier, does create an image
    // and count it, so "nothing changed" there is a measurement and not a blind spot.
    const { link, token, expiresAt } = await mintLink();
    clock = expiresAt - 1;
    const opened = await links.open(token);
    const file = await stagedPng();
    try {
      const { image, duplicate } = await links.receive(opened, file);
      assert.equal(duplicate, false);
      assert.equal(image.ownerId, link.ownerId);
      assert.deepEqual(await usage(link), { usedImages: 1, usedBytes: file.size, images: 1, received: 1 });
    } finally {
      await file.discard();
    }
  });

  test('a link that expires between being opened and the upload landing refuses it as expired and creates nothing', async () => {
    const { link, token, expiresAt } = await mintLink();
    clock = expiresAt - 1;
    const opened = await links.open(token);
    const file = await stagedPng();
    try {
      // The bytes took a millisecond to arrive: the reservation is the second, decisive check.
      clock = expiresAt;
      await assert.rejects(links.receive(opened, file), rejectsWith('UPLOAD_LINK_EXPIRED'));
      assert.deepEqual(await usage(link), { usedImages: 0, usedBytes: 0, images: 0, received: 0 });
      assert.equal(await store.images.findByOwnerAndHash(link.ownerId, file.sha256), null);
    } finally {
      await file.discard();
    }
  });
});
