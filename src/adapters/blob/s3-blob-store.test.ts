import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startS3rver, type RunningS3rver } from '../../../test/support/s3rver.js';
import { isAppError } from '../../core/errors.js';
import { blobStoreContract } from '../../ports/blob-store.contract.js';
import { S3BlobStore, type S3BlobStoreOptions } from './s3-blob-store.js';

function storeOn(s3: RunningS3rver, options: Partial<S3BlobStoreOptions> = {}): S3BlobStore {
  // A small page size makes the contract's listing walk several ListObjectsV2 pages.
  return new S3BlobStore({ bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials, listPageSize: 7, ...options });
}

blobStoreContract('S3 (s3rver)', async () => {
  const s3 = await startS3rver();
  return { store: storeOn(s3), cleanup: () => s3.close() };
});

blobStoreContract('S3 (s3rver) under a key prefix', async () => {
  const s3 = await startS3rver();
  return { store: storeOn(s3, { prefix: 'tenant-a/' }), cleanup: () => s3.close() };
});

describe('S3BlobStore beyond the contract', () => {
  let s3: RunningS3rver;
  before(async () => {
    s3 = await startS3rver();
  });
  after(() => s3.close());

  test('a key prefix confines the store: objects land under it and others stay invisible', async () => {
    const prefixed = storeOn(s3, { prefix: 'tenant-b/' });
    const plain = storeOn(s3);
    await prefixed.put('originals/aa/bb/mine', Buffer.from('mine'));
    await plain.put('originals/aa/bb/theirs', Buffer.from('theirs'));

    const raw = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
    const { Contents = [] } = await raw.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    const keys = Contents.map((object) => object.Key);
    assert.ok(keys.includes('tenant-b/originals/aa/bb/mine'), `not under the prefix: ${keys.join(', ')}`);
    assert.ok(!keys.some((key) => key?.includes('.ping-')), 'a ping probe was left behind');

    const listed: string[] = [];
    for await (const info of prefixed.list('originals/')) listed.push(info.key);
    assert.deepEqual(listed, ['originals/aa/bb/mine']);
    assert.equal(await prefixed.head('originals/aa/bb/theirs'), null);
    raw.destroy();
  });

  test('a missing bucket is STORAGE_UNAVAILABLE, naming the bucket', async () => {
    const store = storeOn(s3, { bucket: 'no-such-bucket' });
    await assert.rejects(store.ping(), (error) => isAppError(error, 'STORAGE_UNAVAILABLE') && /bucket does not exist/.test(error.message));
    await assert.rejects(store.get('originals/aa/bb/x'), (error) => isAppError(error, 'STORAGE_UNAVAILABLE'));
  });

  test('wrong credentials are STORAGE_UNAVAILABLE', async () => {
    const store = storeOn(s3, { credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' } });
    await assert.rejects(store.ping(), (error) => isAppError(error, 'STORAGE_UNAVAILABLE'));
  });
});

test('an endpoint nobody listens on is STORAGE_UNAVAILABLE within seconds, for every kind of call', async () => {
  const port = await closedPort();
  const store = new S3BlobStore({ bucket: 'b', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  const started = Date.now();
  const unavailable = (error: unknown) => isAppError(error, 'STORAGE_UNAVAILABLE');
  await assert.rejects(store.ping(), unavailable);
  await assert.rejects(store.head('originals/aa/bb/x'), unavailable);
  await assert.rejects(store.get('originals/aa/bb/x'), unavailable);
  await assert.rejects(store.putFile('originals/aa/bb/x', new URL(import.meta.url).pathname), unavailable);
  await assert.rejects(
    (async () => {
      for await (const _ of store.list('originals/')) break;
    })(),
    unavailable,
  );
  // Three attempts each with bounded back-off, not the SDK's minutes of waiting.
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
});

/** A loopback port that was free a moment ago and has nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
