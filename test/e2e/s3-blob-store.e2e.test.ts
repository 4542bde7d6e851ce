/**
 * The scale-out blob store end to end: the real server and CLI with BLOB_STORE_URL=s3://… against
 * the Ceph RADOS Gateway, a real S3 implementation (or, where none runs, s3rver, so the suite
 * still runs on a laptop; CI always has the gateway). The bucket is read through the S3 SDK only
 * to check physical facts (which objects exist) or to damage one. Resumable uploads keep
 * their bytes in the bucket as multipart uploads, which s3rver lacks: scale-out-tus.e2e.test.ts
 * covers them on the gateway.
 */
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { distinctPng, problemOf, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { runImagegram } from '../support/cli.js';
import { testBucket } from '../support/radosgw.js';
import { startS3rver, type RunningS3rver } from '../support/s3rver.js';
import { startServer, type RunningServer } from '../support/server.js';
import { sha256 } from '../support/tus.js';

const shard = (hash: string) => `${hash.slice(0, 2)}/${hash.slice(2, 4)}`;
const originalKey = (hash: string) => `originals/${shard(hash)}/${hash}`;
const derivativeKey = (hash: string) => `derivatives/600-v1/${shard(hash)}/${hash}.jpg`;

interface Uploaded {
  id: string;
  hash: string;
  url: string;
  duplicate: boolean;
}

const gateway = await testBucket();

describe(`blob store on S3 (${gateway ? 'RADOS Gateway' : 's3rver'})`, () => {
  let s3: Pick<RunningS3rver, 'endpoint' | 'bucket' | 'credentials' | 'env' | 'close'>;
  let bucket: S3Client;
  let server: RunningServer;
  let alice: TestUser;
  let bob: TestUser;
  let first: Uploaded;
  let firstBytes: Buffer;

  /** Every object in the bucket: key → ETag (an ETag changes when the bytes are rewritten). */
  async function objects(): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let token: string | undefined; ; ) {
      const page = await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket, ContinuationToken: token }));
      for (const object of page.Contents ?? []) found.set(object.Key!, `${object.ETag}@${object.LastModified?.getTime()}`);
      if (!page.IsTruncated) return found;
      token = page.NextContinuationToken;
    }
  }

  async function upload(user: TestUser, bytes: Buffer): Promise<Uploaded> {
    const response = await uploadImage(server.baseUrl, user, bytes, 'photo.png', 'image/png');
    assert.ok(response.status === 201 || response.status === 200, `upload: ${response.status} ${await response.clone().text()}`);
    return (await response.json()) as Uploaded;
  }

  before(async () => {
    s3 = gateway ?? (await startS3rver());
    bucket = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: s3.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    server = await startServer({
      // No periodic collection: the only one is the test's. Credentials reach the SDK through its default chain.
      env: { BLOB_STORE_URL: `s3://${s3.bucket}?endpoint=${s3.endpoint}`, ...s3.env, GC_INTERVAL_SECONDS: '0' },
    });
    [alice, bob] = await Promise.all([signUpAndLogIn(server.baseUrl, 'alice'), signUpAndLogIn(server.baseUrl, 'bob')]);
  });
  after(async () => {
    await server?.cleanup();
    bucket?.destroy();
    await s3?.close();
  });

  test('/readyz is 200 with the bucket reachable and writable', async () => {
    const response = await fetch(`${server.baseUrl}/readyz`);
    assert.equal(response.status, 200);
    assert.deepEqual(((await response.json()) as { checks: unknown }).checks, { database: 'ok', blobStore: 'ok', dataDir: 'ok' });
  });

  test('an upload stores its original and derivative in the bucket, and the 600×600 JPEG is served from there', async () => {
    firstBytes = await distinctPng(1);
    first = await upload(alice, firstBytes);
    assert.equal(first.hash, sha256(firstBytes));
    const keys = [...(await objects()).keys()];
    assert.ok(keys.includes(originalKey(first.hash)), `no original in ${keys.join(', ')}`);
    assert.ok(keys.includes(derivativeKey(first.hash)), `no derivative in ${keys.join(', ')}`);
    // Nothing went to the local blob directory instead.
    await assert.rejects(access(join(server.dataDir, 'blobs')));

    const jpeg = await fetch(`${server.baseUrl}/images/${first.id}.jpg`);
    assert.equal(jpeg.status, 200);
    const meta = await sharp(Buffer.from(await jpeg.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 600, 600]);
  });

  test("a duplicate upload stores no second copy: the owner's writes nothing, another user's only re-renders the same JPEG", async () => {
    const before = await objects();
    const again = await upload(alice, firstBytes);
    assert.equal(again.duplicate, true);
    assert.equal(again.id, first.id);
    assert.deepEqual(await objects(), before);
    const bobs = await upload(bob, firstBytes);
    assert.notEqual(bobs.id, first.id);
    assert.equal(bobs.hash, first.hash);
    // Another user's copy renders and writes the derivative again, so its timing tells nobody the
    // bytes were here: same key, same bytes (ETag), perhaps a newer date. The original is untouched.
    const after = await objects();
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
    assert.equal(after.get(originalKey(first.hash)), before.get(originalKey(first.hash)));
    const etagOf = (version: string | undefined) => version?.split('@')[0];
    assert.equal(etagOf(after.get(derivativeKey(first.hash))), etagOf(before.get(derivativeKey(first.hash))));
  });

  test('imagegram verify re-hashes the bucket: exit 0 intact, exit 1 naming an object whose bytes were replaced', async () => {
    const intact = await runImagegram(server.env, ['verify']);
    assert.equal(intact.status, 0, `${intact.stdout}\n${intact.stderr}`);
    assert.match(intact.stdout, /^Checked 1 originals/m);
    assert.match(intact.stdout, /^All intact\.$/m);

    const key = originalKey(first.hash);
    await bucket.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: Buffer.from('not the original bytes') }));
    const damaged = await runImagegram(server.env, ['verify']);
    assert.equal(damaged.status, 1, damaged.stdout);
    assert.ok(damaged.stdout.includes(key), `key not named:\n${damaged.stdout}`);
    assert.ok(damaged.stdout.includes(sha256(Buffer.from('not the original bytes'))));

    // Put the bytes back for the tests after this one.
    await bucket.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: firstBytes }));
  });

  test('DELETE then imagegram gc --grace 0s removes the blob’s objects from the bucket, and only them', async () => {
    const bytes = await distinctPng(2);
    const doomed = await upload(alice, bytes);
    assert.ok((await objects()).has(originalKey(doomed.hash)));
    const deleted = await fetch(`${server.baseUrl}/images/${doomed.id}`, { method: 'DELETE', headers: alice.headers });
    assert.equal(deleted.status, 204);
    // DELETE keeps the bytes: only garbage collection removes blobs.
    assert.ok((await objects()).has(originalKey(doomed.hash)));

    const run = await runImagegram(server.env, ['gc', '--grace', '0s']);
    assert.equal(run.status, 0, run.stderr);
    const left = await objects();
    assert.equal(left.has(originalKey(doomed.hash)), false, 'original still in the bucket');
    assert.equal(left.has(derivativeKey(doomed.hash)), false, 'derivative still in the bucket');
    assert.ok(left.has(originalKey(first.hash)) && left.has(derivativeKey(first.hash)), 'a referenced blob was collected');
    assert.equal((await fetch(`${server.baseUrl}/images/${first.id}.jpg`)).status, 200);
  });

  // On the gateway "gone" is the bucket deleted; on s3rver, the server stopped.
  test('with the store gone, /readyz is 503 and an upload is STORAGE_UNAVAILABLE, within seconds', async () => {
    await s3.close();
    const started = Date.now();
    const ready = await fetch(`${server.baseUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { checks: { blobStore: string } }).checks.blobStore === 'ok', false);
    const refused = await uploadImage(server.baseUrl, alice, await distinctPng(3), 'photo.png', 'image/png');
    assert.equal(refused.status, 503);
    assert.equal((await problemOf(refused)).code, 'STORAGE_UNAVAILABLE');
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  });
});
