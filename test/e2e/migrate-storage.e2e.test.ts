/**
 * The documented storage migration, end to end (docs/storage-migration.md): a server on the disk
 * store keeps taking uploads over HTTP while `imagegram migrate-storage` copies its blobs to a real
 * bucket (Ceph RADOS Gateway); then the switch — restart on the bucket with the old directory as
 * fallback, a final pass, restart without the fallback (the old directory moved away). At the end
 * every image acknowledged at any point is served with the JPEG first served for it, and its
 * original sits in the bucket under its SHA-256.
 */
import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { distinctPng, eventually, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { runImagegram } from '../support/cli.js';
import { testBucket } from '../support/radosgw.js';
import { startServer, type RunningServer } from '../support/server.js';
import { sha256 } from '../support/tus.js';

const bucket = await testBucket();
const shard = (hash: string) => `${hash.slice(0, 2)}/${hash.slice(2, 4)}`;

interface Uploaded {
  id: string;
  /** SHA-256 of the bytes uploaded: the image's `hash`. */
  hash: string;
  /** SHA-256 of the JPEG the server first served for it. */
  jpeg: string;
}

describe('imagegram migrate-storage: disk → bucket while serving, then the documented switch', {
  skip: bucket ? false : 'no RADOS Gateway (scripts/radosgw.sh start, or TEST_S3_URL)',
}, () => {
  let server: RunningServer;
  let user: TestUser;
  let s3: S3Client;
  const uploaded: Uploaded[] = [];
  let seed = 1;

  /** Uploads one new image to whichever server runs now and reads its JPEG back; null if the server was not there. */
  async function uploadOne(): Promise<Uploaded | null> {
    const bytes = await distinctPng(seed++);
    let response: Response;
    try {
      response = await uploadImage(server.baseUrl, user, bytes, 'photo.png', 'image/png');
    } catch {
      return null; // the server is restarting: nothing was acknowledged
    }
    if (response.status !== 201) {
      await response.body?.cancel();
      assert.ok(response.status >= 500, `upload refused: ${response.status}`);
      return null;
    }
    const { id, hash } = (await response.json()) as { id: string; hash: string };
    assert.equal(hash, sha256(bytes));
    // Acknowledged: its JPEG must be served, by this server or the one after it.
    const jpeg = await eventually(
      async () => {
        const served = await fetch(`${server.baseUrl}/images/${id}.jpg`).catch(() => null);
        if (served?.status !== 200) return void (await served?.body?.cancel());
        return sha256(new Uint8Array(await served.arrayBuffer()));
      },
      { timeoutMs: 60_000, what: `the JPEG of ${id}` },
    );
    const image = { id, hash, jpeg };
    uploaded.push(image);
    return image;
  }

  /** Uploads in a loop until `stop()`; returns how many it got acknowledged. */
  function uploadLoop(): { acknowledged(): number; stop(): Promise<number> } {
    let stopping = false;
    let count = 0;
    const running = (async () => {
      while (!stopping) if (await uploadOne()) count += 1;
    })();
    return {
      acknowledged: () => count,
      async stop() {
        stopping = true;
        await running;
        return count;
      },
    };
  }

  /** Each image's JPEG, fetched through the running server, is the one first served for it. */
  async function assertServed(images: Uploaded[]): Promise<void> {
    for (const image of images) {
      const jpeg = await fetch(`${server.baseUrl}/images/${image.id}.jpg`);
      assert.equal(jpeg.status, 200, `JPEG of ${image.id}`);
      assert.equal(sha256(new Uint8Array(await jpeg.arrayBuffer())), image.jpeg, `JPEG of ${image.id} as first served`);
    }
  }

  const migrate = () =>
    runImagegram({ ...server.env, LOG_LEVEL: 'warn' }, ['migrate-storage', '--to', bucket!.blobStoreUrl('imagegram/')], { timeoutMs: 240_000 });

  before(async () => {
    s3 = bucket!.client();
    // AWS_* credentials from the start, so the same environment serves every restart.
    server = await startServer({ env: { ...bucket!.env, GC_INTERVAL_SECONDS: '0' } });
    user = await signUpAndLogIn(server.baseUrl, 'migrator');
  });
  after(async () => {
    s3?.destroy();
    await server?.cleanup();
    await bucket?.close();
  });

  test('every image acknowledged before, during and after the copy is intact on the bucket', { timeout: 600_000 }, async (t) => {
    for (let i = 0; i < 6; i++) assert.ok(await uploadOne());

    // 1. The bulk copy, while uploads go on to the disk store.
    const duringCopy = uploadLoop();
    const first = await migrate();
    const afterFirstPass = uploaded.length;
    assert.ok(first.status === 0 || first.status === 3, `first pass: ${first.status}\n${first.stdout}\n${first.stderr}`);
    // At least one image acknowledged after the pass's last listing: on disk only at the switch.
    await eventually(async () => (uploaded.length > afterFirstPass ? true : undefined), { timeoutMs: 60_000, what: 'an upload after the first pass' });
    const beforeSwitch = uploaded.length;

    // 2. The switch: restart on the bucket, the old directory as a read-only fallback. Uploads go on.
    server.env.BLOB_STORE_URL = bucket!.blobStoreUrl('imagegram/');
    server.env.BLOB_STORE_FALLBACK_URL = `file:${join(server.dataDir, 'blobs')}`;
    await server.stop();
    server = await server.restart();
    await eventually(async () => (uploaded.length > beforeSwitch + 2 ? true : undefined), { timeoutMs: 120_000, what: 'uploads to the switched server' });
    const acknowledgedDuringCopy = await duringCopy.stop();
    assert.ok(acknowledgedDuringCopy > 2, `uploads acknowledged while copying: ${acknowledgedDuringCopy}`);
    // Images acknowledged after the first pass's last listing are only on disk: served through the fallback.
    await assertServed(uploaded);
    assert.ok(
      server.output.some((line) => line.includes('blob read from the fallback store')),
      'the switched server read not-yet-copied blobs from the old store',
    );

    // 3. The final pass, from the fallback store: nothing may be left.
    const duringFinalPass = uploadLoop();
    const final = await migrate();
    // Uploads go on after the pass too: they land in the bucket, so nothing is left behind.
    await eventually(async () => (duringFinalPass.acknowledged() > 0 ? true : undefined), { timeoutMs: 60_000, what: 'an upload during the final pass' });
    await duringFinalPass.stop();
    assert.equal(final.status, 0, `final pass:\n${final.stdout}\n${final.stderr}`);
    assert.match(final.stdout, /Nothing left/);

    // 4. The fallback removed, the old directory out of reach: everything comes from the bucket.
    delete server.env.BLOB_STORE_FALLBACK_URL;
    await server.stop();
    await rename(join(server.dataDir, 'blobs'), join(server.dataDir, 'blobs-migrated'));
    server = await server.restart();
    await assertServed(uploaded);
    for (const image of uploaded) {
      const original = await s3.send(new GetObjectCommand({ Bucket: bucket!.bucket, Key: `imagegram/originals/${shard(image.hash)}/${image.hash}` }));
      assert.equal(sha256(await original.Body!.transformToByteArray()), image.hash, `original of ${image.id}`);
    }
    t.diagnostic(
      `first pass exit ${first.status}; ${acknowledgedDuringCopy} uploads acknowledged around the copy and switch; ${uploaded.length} images checked`,
    );
    const verify = await runImagegram(server.env, ['verify']);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, new RegExp(`Checked ${uploaded.length} originals`));
  });
});
