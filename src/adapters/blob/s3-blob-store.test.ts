import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { testBucket, type TestBucket } from '../../../test/support/radosgw.js';
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

// The same contract on a real S3 implementation (Ceph RADOS Gateway), which checks Content-MD5.
const radosgw = await testBucket();
const onRadosgw = radosgw ? false : 'no RADOS Gateway (scripts/radosgw.sh start, or TEST_S3_URL)';
await radosgw?.close();

function radosgwStore(bucket: TestBucket, options: Partial<S3BlobStoreOptions> = {}): S3BlobStore {
  return new S3BlobStore({
    bucket: bucket.bucket,
    endpoint: bucket.endpoint,
    forcePathStyle: true,
    credentials: bucket.credentials,
    listPageSize: 7,
    ...options,
  });
}

blobStoreContract(
  'S3 (RADOS Gateway)',
  async () => {
    const bucket = (await testBucket())!;
    return { store: radosgwStore(bucket), cleanup: () => bucket.close() };
  },
  { skip: onRadosgw },
);

describe('S3BlobStore on the RADOS Gateway: bytes damaged in transit are refused', { skip: onRadosgw }, () => {
  let bucket: TestBucket;
  let directory: string;
  before(async () => {
    bucket = (await testBucket())!;
    directory = await mkdtemp(join(tmpdir(), 'imagegram-bad-digest-'));
  });
  after(async () => {
    await bucket?.close();
    await rm(directory, { recursive: true, force: true });
  });

  for (const method of ['put', 'putFile'] as const) {
    test(`${method}: one flipped byte on the wire, the original Content-MD5 → refused, nothing stored`, async () => {
      const proxy = await corruptingProxy(bucket.endpoint);
      try {
        const store = radosgwStore(bucket, { endpoint: proxy.endpoint, maxAttempts: 1 });
        const bytes = Buffer.alloc(64 * 1024, 7);
        const key = `originals/aa/bb/${method.toLowerCase()}-damaged`;
        const path = join(directory, method);
        await writeFile(path, bytes);
        await assert.rejects(method === 'put' ? store.put(key, bytes) : store.putFile(key, path));
        assert.ok(proxy.flipped() > 0, 'the proxy never saw a body to damage');
        // A streamed file is sent UNSIGNED-PAYLOAD, so only our Content-MD5 can catch it (BadDigest);
        // a buffer's SHA-256 is also in the signature, which the gateway checks first.
        const expected = method === 'putFile' ? /BadDigest/ : /BadDigest|XAmzContentSHA256Mismatch/;
        assert.match(proxy.refusals().join(' '), expected, `the gateway's answers: ${proxy.refusals().join(' | ')}`);
        assert.equal(await radosgwStore(bucket).head(key), null, 'the damaged object was stored');
        // The same bytes through no proxy are stored: the digest we send is right.
        await (method === 'put' ? radosgwStore(bucket).put(key, bytes) : radosgwStore(bucket).putFile(key, path));
        assert.equal((await radosgwStore(bucket).head(key))?.size, bytes.length);
      } finally {
        await proxy.close();
      }
    });
  }
});

/**
 * An HTTP proxy to `target` that flips the first byte of every PUT body (after the client signed
 * and digested it) and records the bodies of the gateway's 4xx answers.
 */
async function corruptingProxy(target: string): Promise<{ endpoint: string; flipped(): number; refusals(): string[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  let flipped = 0;
  const refusals: string[] = [];
  const server = createHttpServer((incoming, outgoing) => {
    const forwarded = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          if ((answer.statusCode ?? 0) >= 400) refusals.push(`${answer.statusCode} ${body.toString('utf8')}`);
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          outgoing.end(body);
        });
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    let first = true;
    const damage = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (first && incoming.method === 'PUT' && chunk.length > 0) {
          first = false;
          flipped++;
          chunk = Buffer.from(chunk);
          chunk[0] = chunk[0]! ^ 0xff;
        }
        done(null, chunk);
      },
    });
    incoming.pipe(damage).pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    flipped: () => flipped,
    refusals: () => refusals,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

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
  const store = new S3BlobStore({
    bucket: 'b',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
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
