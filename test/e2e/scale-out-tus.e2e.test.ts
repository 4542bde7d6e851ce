/**
 * Resumable uploads in scale-out mode, end to end: two server processes on one PostgreSQL database
 * and one S3 bucket (a real RADOS Gateway), with no sticky routing. Every tus request may land on
 * either process, and a process may die mid-request: the bytes in progress live in the bucket, so
 * the other process carries on from where the upload stands. The bucket is read through the S3 SDK
 * only to hash the stored originals.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { postJson, signUpAndLogIn, type TestUser } from '../support/client.js';
import { expireUpload } from '../support/expire-upload.js';
import { createThrowawayPostgresDatabase } from '../support/postgres.js';
import { testBucket, type TestBucket } from '../support/radosgw.js';
import { startServer, type RunningServer } from '../support/server.js';
import { createUpload, noisePng, patchUpload, sha256, uploadOffset } from '../support/tus.js';

const mebibyte = 1024 * 1024;
const prefix = 'ig/';
const shard = (hash: string) => `${hash.slice(0, 2)}/${hash.slice(2, 4)}`;

// Probe once each: null means unreachable and not required (TEST_S3_URL / TEST_POSTGRES_URL unset).
const bucket = await testBucket();
const database = bucket ? await createThrowawayPostgresDatabase() : null;
if (bucket && !database) await bucket.close();
const skip = bucket === null ? 'no RADOS Gateway reachable' : database === null ? 'PostgreSQL not reachable' : false;

// After every suite: their servers are gone by then.
after(async () => {
  await database?.drop();
  await bucket?.close();
});

interface Image {
  id: string;
  hash: string;
}

describe('tus uploads across two processes sharing PostgreSQL and an S3 bucket', { skip }, () => {
  const s3 = bucket as TestBucket;
  let a: RunningServer;
  let b: RunningServer;
  let client: S3Client;
  let alice: TestUser;

  before(async () => {
    const env = { DATABASE_URL: database!.url, BLOB_STORE_URL: s3.blobStoreUrl(prefix), ...s3.env, GC_INTERVAL_SECONDS: '0' };
    // Each process has its own data dir: nothing about an upload may depend on a local file.
    a = await startServer({ env });
    b = await startServer({ env });
    client = s3.client();
    alice = await signUpAndLogIn(a.baseUrl, 'alice');
  });
  after(async () => {
    await b?.cleanup();
    await a?.cleanup();
    client?.destroy();
  });

  const tus = (user: TestUser) => user.headers;

  async function create(server: RunningServer, length: number): Promise<string> {
    const response = await createUpload(server.baseUrl, tus(alice), length);
    assert.equal(response.status, 201, await response.text());
    return response.headers.get('location')!;
  }

  /** HEAD on `server`: the upload's offset there, which must be a 200. */
  async function offsetAt(server: RunningServer, path: string): Promise<number> {
    const { status, offset } = await uploadOffset(`${server.baseUrl}${path}`, tus(alice));
    assert.equal(status, 200, `HEAD ${path} on ${server.baseUrl}`);
    return offset!;
  }

  async function patch(server: RunningServer, path: string, offset: number, bytes: Buffer): Promise<number> {
    const response = await patchUpload(`${server.baseUrl}${path}`, tus(alice), offset, bytes);
    assert.equal(response.status, 204, `PATCH ${path} at ${offset} on ${server.baseUrl}: ${response.status} ${await response.text()}`);
    return Number(response.headers.get('upload-offset'));
  }

  async function consume(server: RunningServer, path: string): Promise<Image> {
    const uploadId = path.split('/').pop()!;
    const response = await postJson(server.baseUrl, '/images', { uploadId }, alice.headers);
    assert.equal(response.status, 201, await response.clone().text());
    return (await response.json()) as Image;
  }

  /** SHA-256 of the original as stored in the bucket. */
  async function storedOriginalHash(hash: string): Promise<string> {
    const object = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}originals/${shard(hash)}/${hash}` }));
    return createHash('sha256')
      .update(await object.Body!.transformToByteArray())
      .digest('hex');
  }

  test('every request of one upload alternates between the processes; the image is stored whole', async () => {
    // Over 5 MiB (S3's smallest part) of incompressible PNG: whole parts and carried-over tails both occur.
    const png = await noisePng(1500, 1300, 11);
    assert.ok(png.length > 5 * mebibyte);
    const path = await create(a, png.length);
    const servers = [b, a];
    let offset = 0;
    for (let turn = 0; offset < png.length; turn++) {
      const [writer, reader] = [servers[turn % 2]!, servers[(turn + 1) % 2]!];
      // The process that took the previous PATCH is never the one asked where the upload stands.
      assert.equal(await offsetAt(writer, path), offset);
      offset = await patch(writer, path, offset, png.subarray(offset, offset + 768 * 1024));
      assert.equal(await offsetAt(reader, path), offset);
    }
    const image = await consume(b, path);
    assert.equal(image.hash, sha256(png));
    assert.equal(await storedOriginalHash(image.hash), sha256(png));
    // Consumed: the upload's objects are gone from both processes' view.
    assert.equal((await uploadOffset(`${a.baseUrl}${path}`, tus(alice))).status, 404);
  });

  test('a process killed in the middle of a PATCH: the other answers HEAD with the acknowledged bytes kept, and the upload resumes there', async () => {
    const png = await noisePng(1400, 1000, 12);
    const path = await create(a, png.length);
    const acknowledged = await patch(a, path, 0, png.subarray(0, mebibyte));
    assert.equal(acknowledged, mebibyte);

    // A PATCH of the rest, cut off by A's death once part of its body has reached A's buffers.
    const rest = png.subarray(acknowledged);
    const hangingUp = new Promise<void>((resolve) => {
      const request = httpRequest(`${a.baseUrl}${path}`, {
        method: 'PATCH',
        headers: {
          ...tus(alice),
          'tus-resumable': '1.0.0',
          'upload-offset': String(acknowledged),
          'content-type': 'application/offset+octet-stream',
          'content-length': String(rest.length),
        },
      });
      request.on('error', () => resolve());
      request.on('response', (response) => {
        response.resume();
        resolve();
      });
      request.write(rest.subarray(0, 2 * mebibyte));
    });
    const buffers = join(a.dataDir, 'upload-buffers', `${hostname()}-${a.pid}`);
    await waitFor(async () => {
      const sizes = await Promise.all(
        (await readdir(buffers).catch(() => [])).map((name) =>
          stat(join(buffers, name)).then(
            (info) => info.size,
            () => 0,
          ),
        ),
      );
      return sizes.some((size) => size > mebibyte);
    }, 'the PATCH body to reach the buffers of A');
    await a.kill();
    await hangingUp;

    const resumeAt = await offsetAt(b, path);
    assert.ok(resumeAt >= acknowledged && resumeAt <= png.length, `B resumes at ${resumeAt}, acknowledged ${acknowledged}`);
    assert.equal(await patch(b, path, resumeAt, png.subarray(resumeAt)), png.length);
    const image = await consume(b, path);
    assert.equal(await storedOriginalHash(image.hash), sha256(png));

    // A restarted process starts with empty buffers: the dead process's are removed.
    a = await a.restart();
    await assert.rejects(stat(buffers), { code: 'ENOENT' });
  });

  test('uploads acknowledged by a process before its kill -9 are all readable through the other', async () => {
    const pngs = await Promise.all([21, 22, 23, 24].map((seed) => noisePng(200 + seed, 150, seed)));
    const paths: string[] = [];
    for (const png of pngs) {
      const path = await create(a, png.length);
      assert.equal(await patch(a, path, 0, png), png.length);
      paths.push(path);
    }
    // Two become images on A; two stay finished uploads.
    const images = [await consume(a, paths[0]!), await consume(a, paths[1]!)];
    await a.kill();

    for (const [index, image] of images.entries()) {
      const response = await fetch(`${b.baseUrl}/images/${image.id}`, { headers: alice.headers });
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as Image).hash, sha256(pngs[index]!));
      assert.equal(await storedOriginalHash(image.hash), sha256(pngs[index]!));
    }
    for (const index of [2, 3]) {
      assert.equal(await offsetAt(b, paths[index]!), pngs[index]!.length);
      const image = await consume(b, paths[index]!);
      assert.equal(await storedOriginalHash(image.hash), sha256(pngs[index]!));
    }
  });
});

describe('expired tus uploads in the bucket are swept', { skip }, () => {
  const s3 = bucket as TestBucket;
  const namespace = 'swept/';
  let server: RunningServer;
  let client: S3Client;

  before(async () => {
    const env = {
      DATABASE_URL: database!.url,
      BLOB_STORE_URL: s3.blobStoreUrl(namespace),
      ...s3.env,
      GC_INTERVAL_SECONDS: '0',
      UPLOAD_SWEEP_INTERVAL_SECONDS: '1',
    };
    server = await startServer({ env });
    client = s3.client();
  });
  after(async () => {
    await server?.cleanup();
    client?.destroy();
  });

  /** The upload's objects and multipart uploads in the bucket. */
  async function stored(id: string): Promise<string[]> {
    const { Contents = [] } = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${namespace}uploads/` }));
    const { Uploads = [] } = await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: `${namespace}uploads/` }));
    return [...Contents.map((object) => object.Key!), ...Uploads.map((upload) => `multipart:${upload.Key!}`)].filter((key) => key.includes(id));
  }

  test('expiry aborts the multipart upload and deletes its info and tail', async () => {
    const user = await signUpAndLogIn(server.baseUrl, 'dora');
    const bytes = randomBytes(8 * mebibyte);
    const created = await createUpload(server.baseUrl, user.headers, bytes.length);
    const path = created.headers.get('location')!;
    const id = path.split('/').pop()!;
    // A whole part (in the multipart upload) and a tail: every kind of object an upload has.
    const response = await patchUpload(`${server.baseUrl}${path}`, user.headers, 0, bytes.subarray(0, 6 * mebibyte));
    assert.equal(response.status, 204);
    assert.equal((await patchUpload(`${server.baseUrl}${path}`, user.headers, 6 * mebibyte, bytes.subarray(6 * mebibyte, 7 * mebibyte))).status, 204);
    assert.deepEqual(
      (await stored(id)).sort(),
      [`${namespace}uploads/${id}.info`, `${namespace}uploads/${id}.part`, `multipart:${namespace}uploads/${id}`].sort(),
    );

    // The upload expires now, whatever the machine's speed: a short UPLOAD_EXPIRY_SECONDS raced the
    // PATCHes above on a loaded machine. The sweep (every second) takes it from there.
    await expireUpload(server, id);
    await waitFor(async () => (await stored(id)).length === 0, 'the sweep to remove the expired upload');
    assert.equal((await uploadOffset(`${server.baseUrl}${path}`, user.headers)).status, 404);
  });
});

/** Polls `condition` until it holds; fails after 30 s rather than hang. */
async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
