import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { test } from 'node:test';
import { blobStoreContract } from '../../ports/blob-store.contract.js';
import { FallbackBlobStore } from './fallback-blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';

// With an empty fallback it must behave exactly as a blob store.
blobStoreContract('primary with an empty fallback', async () => {
  const root = await mkdtemp(join(tmpdir(), 'fallback-blob-store-'));
  return {
    store: new FallbackBlobStore(new FsBlobStore(join(root, 'new')), new FsBlobStore(join(root, 'old'))),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

test('reads that miss the primary come from the fallback (and are reported); writes and deletes never touch it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'fallback-blob-store-'));
  try {
    const primary = new FsBlobStore(join(root, 'new'));
    const fallback = new FsBlobStore(join(root, 'old'));
    const hits: string[] = [];
    const store = new FallbackBlobStore(primary, fallback, (key, operation) => hits.push(`${operation} ${key}`));
    await fallback.put('originals/aa/bb/old', Buffer.from('old bytes'));
    await primary.put('originals/aa/bb/both', Buffer.from('new bytes'));
    await fallback.put('originals/aa/bb/both', Buffer.from('stale bytes'));

    assert.equal((await store.get('originals/aa/bb/old'))?.toString(), 'old bytes');
    assert.equal((await store.head('originals/aa/bb/old'))?.size, 9);
    assert.equal(await text((await store.createReadStream('originals/aa/bb/old', { start: 4, end: 8 }))!), 'bytes');
    const local = await store.localFile('originals/aa/bb/old');
    assert.ok(local);
    await local.release();
    assert.equal((await store.get('originals/aa/bb/both'))?.toString(), 'new bytes');
    assert.equal(await store.get('originals/aa/bb/absent'), null);
    assert.deepEqual(hits, ['get originals/aa/bb/old', 'head originals/aa/bb/old', 'createReadStream originals/aa/bb/old', 'localFile originals/aa/bb/old']);

    await store.put('derivatives/600-v1/aa/bb/x.jpg', Buffer.from('jpeg'));
    assert.equal(await fallback.head('derivatives/600-v1/aa/bb/x.jpg'), null);
    await store.delete('originals/aa/bb/old');
    assert.ok(await fallback.head('originals/aa/bb/old'), 'the old store is read-only');
    const listed = [];
    for await (const info of store.list('originals/')) listed.push(info.key);
    assert.deepEqual(listed, ['originals/aa/bb/both']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
