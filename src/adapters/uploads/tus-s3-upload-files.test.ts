import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { MemoryLocker, Upload } from '@tus/server';
import { isAppError } from '../../core/errors.js';
import { uploadFilesContract } from '../../ports/upload-files.contract.js';
import { type TestBucket, testBucket } from '../../../test/support/radosgw.js';
import { TusS3UploadFiles } from './tus-s3-upload-files.js';

// One bucket for the file: the contract needs an empty store per test, so each test gets its own prefix.
const bucket = await testBucket();
let run = 0;

async function openStore(s3: TestBucket, prefix: string, options: { partSize?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'imagegram-tus-s3-'));
  const files = await TusS3UploadFiles.open({
    connection: { bucket: s3.bucket, prefix, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials },
    bufferDirectory: join(dir, 'buffers'),
    locker: new MemoryLocker(),
    expiryMs: 60_000,
    ...options,
  });
  return { files, dir };
}

async function allKeys(s3: TestBucket): Promise<string[]> {
  const client = s3.client();
  try {
    const { Contents = [] } = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    const { Uploads = [] } = await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
    return [...Contents.map((object) => object.Key!), ...Uploads.map((upload) => `multipart:${upload.Key!}`)].sort();
  } finally {
    client.destroy();
  }
}

if (bucket) {
  after(() => bucket.close());

  uploadFilesContract('tus S3 store (radosgw)', async () => {
    const { files, dir } = await openStore(bucket, `contract-${++run}/`);
    return {
      files,
      async write(id, bytes) {
        await files.datastore.create(new Upload({ id, size: bytes.length, offset: 0 }));
        await files.datastore.write(Readable.from([bytes]), id, 0);
      },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  });

  describe('tus S3 store on radosgw', () => {
    let dir: string;
    let files: TusS3UploadFiles;
    let other: TusS3UploadFiles;
    let otherDir: string;
    before(async () => {
      ({ files, dir } = await openStore(bucket, 'shared/', { partSize: 5 * 1024 * 1024 }));
      ({ files: other, dir: otherDir } = await openStore(bucket, 'shared/', { partSize: 5 * 1024 * 1024 }));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
      await rm(otherDir, { recursive: true, force: true });
    });

    test('an upload written in turns by two stores (two processes) over several parts is whole, under the namespace', async () => {
      const id = randomBytes(16).toString('hex');
      const bytes = randomBytes(12 * 1024 * 1024 + 12345);
      await files.datastore.create(new Upload({ id, size: bytes.length, offset: 0 }));
      // PATCHes of 3 MiB: below the 5 MiB part minimum, so tails carry over from one store to the other.
      const step = 3 * 1024 * 1024;
      for (let offset = 0, turn = 0; offset < bytes.length; offset += step, turn++) {
        const writer = turn % 2 === 0 ? files : other;
        const reader = turn % 2 === 0 ? other : files;
        assert.equal(await reader.received(id), offset);
        assert.equal((await reader.datastore.getUpload(id)).offset, offset);
        const written = await writer.datastore.write(Readable.from([bytes.subarray(offset, offset + step)]), id, offset);
        assert.equal(written, Math.min(offset + step, bytes.length));
      }
      assert.equal(await other.received(id), bytes.length);
      assert.deepEqual(await other.seal(id), { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });
      assert.ok((await allKeys(bucket)).every((key) => key.replace(/^multipart:/, '').startsWith('shared/uploads/') || key.startsWith('contract-')));
      await files.remove(id);
      assert.equal(await other.received(id), null);
      assert.deepEqual(
        (await allKeys(bucket)).filter((key) => key.includes(id)),
        [],
      );
      // Every part buffer was deleted once sent.
      assert.deepEqual(await readdir(join(dir, 'buffers')), []);
      assert.deepEqual(await readdir(join(otherDir, 'buffers')), []);
    });

    test('a PATCH that breaks off keeps the bytes acknowledged before it (the tail is not dropped first)', async () => {
      const id = randomBytes(16).toString('hex');
      const bytes = randomBytes(8 * 1024 * 1024);
      await files.datastore.create(new Upload({ id, size: bytes.length, offset: 0 }));
      const acknowledged = await files.datastore.write(Readable.from([bytes.subarray(0, 3 * 1024 * 1024)]), id, 0);
      // The next PATCH's body fails after 1 MiB, before a whole part could be stored.
      const broken = Readable.from(
        (async function* () {
          yield bytes.subarray(acknowledged, acknowledged + 1024 * 1024);
          throw new Error('connection reset');
        })(),
      );
      await assert.rejects(other.datastore.write(broken, id, acknowledged), /connection reset/);
      assert.equal(await files.received(id), acknowledged);
      // A PATCH spanning a whole part and a new tail: the old tail goes into the part, then is stale.
      const offset = await other.datastore.write(Readable.from([bytes.subarray(acknowledged, 7 * 1024 * 1024)]), id, acknowledged);
      assert.equal(offset, 7 * 1024 * 1024);
      assert.equal(await files.received(id), offset);
      assert.equal(await files.datastore.write(Readable.from([bytes.subarray(offset)]), id, offset), bytes.length);
      assert.equal((await files.seal(id)).sha256, createHash('sha256').update(bytes).digest('hex'));
      await files.remove(id);
    });

    test('a multipart upload without info (its server died while creating it) is listed, and removed', async () => {
      const id = randomBytes(16).toString('hex');
      const client = bucket.client();
      try {
        await client.send(new CreateMultipartUploadCommand({ Bucket: bucket.bucket, Key: `shared/uploads/${id}` }));
      } finally {
        client.destroy();
      }
      const listed = [];
      for await (const stored of files.list()) listed.push(stored);
      const found = listed.find((stored) => stored.id === id);
      assert.ok(found && found.modifiedAt > Date.now() - 60_000, JSON.stringify(listed));
      assert.equal(await files.received(id), null);
      await files.remove(id);
      assert.deepEqual(
        (await allKeys(bucket)).filter((key) => key.includes(id)),
        [],
      );
    });

    test('an unfinished upload removed by one store is gone for the other: multipart aborted, objects deleted', async () => {
      const id = randomBytes(16).toString('hex');
      await files.datastore.create(new Upload({ id, size: 6 * 1024 * 1024, offset: 0 }));
      await files.datastore.write(Readable.from([randomBytes(5 * 1024 * 1024 + 7)]), id, 0);
      assert.equal(await other.received(id), 5 * 1024 * 1024 + 7);
      const listed = [];
      for await (const stored of other.list()) listed.push(stored.id);
      assert.ok(listed.includes(id));
      await other.remove(id);
      assert.equal(await files.received(id), null);
      await assert.rejects(files.datastore.getUpload(id));
      assert.deepEqual(
        (await allKeys(bucket)).filter((key) => key.includes(id)),
        [],
      );
    });
  });
}

test('an S3 endpoint nobody listens on is STORAGE_UNAVAILABLE (a 503), never "no such upload"', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  const dir = await mkdtemp(join(tmpdir(), 'imagegram-tus-s3-'));
  try {
    const files = await TusS3UploadFiles.open({
      connection: { bucket: 'b', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } },
      bufferDirectory: join(dir, 'buffers'),
      locker: new MemoryLocker(),
      expiryMs: 60_000,
    });
    const unavailable = (error: unknown) => isAppError(error, 'STORAGE_UNAVAILABLE');
    const id = randomBytes(16).toString('hex');
    await assert.rejects(files.received(id), unavailable);
    await assert.rejects(files.datastore.getUpload(id), unavailable);
    await assert.rejects(files.datastore.create(new Upload({ id, size: 10, offset: 0 })), unavailable);
    await assert.rejects(files.seal(id), unavailable);
    await assert.rejects(files.remove(id), unavailable);
    await assert.rejects(
      (async () => {
        for await (const _ of files.list()) break;
      })(),
      unavailable,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
