import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FsBlobStore } from '../../src/adapters/blob/fs-blob-store.js';
import { openSqliteMetadataStore } from '../../src/adapters/metadata/sqlite.js';
import { BlobPresence } from '../../src/core/gc/blob-presence.js';
import { collectMissingBlobs } from '../../src/core/gc/missing-blobs.js';
import { derivativeKey, originalKey } from '../../src/core/images/blob-keys.js';
import type { BlobStore } from '../../src/ports/blob-store.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import { aHash, anImage, aUser } from '../../src/ports/metadata-store.support.contract.js';

/** A real directory store that counts the HEADs it answers (what each costs on S3). */
class CountingBlobStore extends FsBlobStore {
  heads = 0;
  override head(key: string): ReturnType<BlobStore['head']> {
    this.heads += 1;
    return super.head(key);
  }
}

describe('BlobPresence: which keys a listing holds, asked in ascending order', () => {
  let dir: string;
  let blobs: FsBlobStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-presence-'));
    blobs = new FsBlobStore(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('sees what is listed, not what is absent, and a key asked out of order is only "not seen"', async () => {
    const hashes = Array.from({ length: 9 }, () => aHash()).sort();
    const stored = hashes.filter((_, index) => index % 2 === 0);
    for (const hash of stored) await blobs.put(originalKey(hash), Buffer.from(hash));
    const presence = new BlobPresence(blobs, 'originals/');
    const answers = [];
    for (const hash of hashes) answers.push(await presence.seen(originalKey(hash)));
    assert.deepEqual(
      answers,
      hashes.map((_, index) => index % 2 === 0),
    );
    assert.equal(await presence.seen(originalKey(stored[0]!)), false, 'passed already: not seen, so the caller HEADs');
    await presence.close();
  });
});

describe('gc (missing blobs) over a store of present blobs: listings, not a HEAD per blob', () => {
  let dir: string;
  let store: MetadataStore;
  let blobs: CountingBlobStore;
  const hashes: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-missing-'));
    store = openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    await store.migrate();
    blobs = new CountingBlobStore(join(dir, 'blobs'));
    const owner = aUser();
    await store.users.insert(owner);
    // More than a page of records (500), so paging and the listing walk meet across pages.
    for (let i = 0; i < 620; i++) {
      const image = anImage(owner.id);
      await store.images.insertOrGetExisting(image);
      hashes.push(image.sha256);
    }
    hashes.sort();
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const collect = () =>
    collectMissingBlobs({ store, blobs, now: Date.now(), graceMs: 0, dryRun: false, signal: undefined, progress: () => {} }, { force: false });

  test('present originals and JPEGs cost no HEAD; a missing JPEG or original costs one each and is still found', async () => {
    for (const hash of hashes) {
      await blobs.put(originalKey(hash), Buffer.from(hash));
      await blobs.put(derivativeKey(hash), Buffer.from('jpeg'));
    }
    blobs.heads = 0;
    const clean = await collect();
    assert.deepEqual([clean.found, clean.details.marked ?? 0, clean.details.derivativesQueued ?? 0], [0, 0, 0]);
    assert.equal(blobs.heads, 0);

    const lostJpeg = hashes[3]!;
    const lostOriginal = hashes[560]!;
    await blobs.delete(derivativeKey(lostJpeg));
    await blobs.delete(originalKey(lostOriginal));
    blobs.heads = 0;
    const report = await collect();
    assert.equal(report.found, 1);
    assert.equal(report.details.marked, 1);
    assert.equal(report.details.derivativesQueued, 1);
    assert.equal(blobs.heads, 2, 'one HEAD to confirm each thing the listings did not show');
    assert.ok((await store.blobRecords.find(lostOriginal))?.missingSince);
    assert.equal((await store.blobRecords.find(lostJpeg))?.missingSince, null);
  });
});
