import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { eventually, problemOf, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { bmpVariantBytes } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function jpegWithGps(background = '#3366cc', takenAt?: string): Promise<Buffer> {
  return sharp({ create: { width: 1200, height: 800, channels: 3, background } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'Canon', Model: 'EOS 5D' },
      ...(takenAt ? { IFD2: { DateTimeOriginal: takenAt } } : {}),
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 0/1' },
    })
    .toBuffer();
}

async function countFiles(dir: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) count += 1;
  return count;
}

describe('images: upload, dedup, derivative, metadata, delete', () => {
  let server: RunningServer;
  let alice: TestUser;
  let bob: TestUser;
  let jpeg: Buffer;

  before(async () => {
    server = await startServer();
    [alice, bob] = await Promise.all([signUpAndLogIn(server.baseUrl, 'alice'), signUpAndLogIn(server.baseUrl, 'bob')]);
    jpeg = await jpegWithGps();
  });
  after(() => server.cleanup());

  test('POST /images returns 201 with id, SHA-256 hash, format, size, dimensions and the JPEG url', async () => {
    const response = await uploadImage(server.baseUrl, alice, jpeg, 'holiday.jpg');
    assert.equal(response.status, 201);
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.hash, sha256(jpeg));
    assert.equal(body.duplicate, false);
    assert.equal(body.format, 'jpeg');
    assert.equal(body.width, 1200);
    assert.equal(body.height, 800);
    assert.equal(body.size, jpeg.length);
    assert.equal(body.url, `/images/${body.id}.jpg`);
  });

  test('PNG and BMP are accepted, detected from the bytes whatever the file name says', async () => {
    const png = await sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 0, g: 200, b: 0, alpha: 0.5 } } })
      .png()
      .toBuffer();
    const pngResponse = await uploadImage(server.baseUrl, alice, png, 'looks-like.jpg', 'image/jpeg');
    assert.equal(pngResponse.status, 201);
    assert.equal(((await pngResponse.json()) as { format: string }).format, 'png');

    const bmp = bmpVariantBytes('24-bit');
    const bmpResponse = await uploadImage(server.baseUrl, alice, bmp, 'scan.bin', 'application/octet-stream');
    assert.equal(bmpResponse.status, 201);
    const body = (await bmpResponse.json()) as { format: string; url: string };
    assert.equal(body.format, 'bmp');
    const derivative = Buffer.from(await (await fetch(`${server.baseUrl}${body.url}`)).arrayBuffer());
    const { channels } = await sharp(derivative).stats();
    assert.ok(
      channels.some((c) => c.mean > 40),
      'a 24-bit BMP must not turn into a black thumbnail',
    );
  });

  test('the same bytes again by the same user return the existing image; by another user a new image over one blob', async () => {
    const first = (await (await uploadImage(server.baseUrl, bob, jpeg)).json()) as { id: string };
    const again = await uploadImage(server.baseUrl, bob, jpeg);
    assert.equal(again.status, 200);
    const againBody = (await again.json()) as { id: string; duplicate: boolean };
    assert.equal(againBody.id, first.id);
    assert.equal(againBody.duplicate, true);
    // alice uploaded the same bytes in the first test: bob got his own image, with no hint of hers.
    const alicesId = ((await (await uploadImage(server.baseUrl, alice, jpeg)).json()) as { id: string }).id;
    assert.notEqual(alicesId, first.id);
    const originals = join(server.dataDir, 'blobs', 'originals', sha256(jpeg).slice(0, 2), sha256(jpeg).slice(2, 4));
    assert.deepEqual(await readdir(originals), [sha256(jpeg)]);
  });

  test('GET /images/{id}.jpg serves the 600×600 JPEG with ETag, immutable caching, 304 and Range', async () => {
    const { url } = (await (await uploadImage(server.baseUrl, alice, jpeg)).json()) as { url: string };
    const response = await fetch(`${server.baseUrl}${url}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/jpeg');
    assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const etag = response.headers.get('etag');
    assert.ok(etag);
    const bytes = Buffer.from(await response.arrayBuffer());
    const meta = await sharp(bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 600, 600]);
    assert.equal(meta.exif, undefined, 'derivative must carry no EXIF (GPS!)');

    const cached = await fetch(`${server.baseUrl}${url}`, { headers: { 'if-none-match': etag } });
    assert.equal(cached.status, 304);
    assert.equal((await cached.arrayBuffer()).byteLength, 0);

    const partial = await fetch(`${server.baseUrl}${url}`, { headers: { range: 'bytes=0-99' } });
    assert.equal(partial.status, 206);
    assert.equal(partial.headers.get('content-range'), `bytes 0-99/${bytes.length}`);
    assert.deepEqual(Buffer.from(await partial.arrayBuffer()), bytes.subarray(0, 100));

    const unsatisfiable = await fetch(`${server.baseUrl}${url}`, { headers: { range: `bytes=${bytes.length + 10}-` } });
    assert.equal(unsatisfiable.status, 416);
    assert.equal((await problemOf(unsatisfiable)).code, 'RANGE_NOT_SATISFIABLE');
  });

  test('GET /images/{id} shows metadata (read from EXIF by a job moments later); when and where it was taken only to the owner', async () => {
    const { id } = (await (await uploadImage(server.baseUrl, alice, jpeg)).json()) as { id: string };
    const asOwner = await eventually(
      async () => {
        const image = (await (await fetch(`${server.baseUrl}/images/${id}`, { headers: alice.headers })).json()) as Record<string, any>;
        return image.metadataExtractedAt ? image : undefined;
      },
      { what: 'the metadata job' },
    );
    assert.deepEqual(asOwner.camera, { make: 'Canon', model: 'EOS 5D' });
    assert.equal(asOwner.hasGps, true);
    assert.ok(Math.abs(asOwner.gps.latitude - 48.85) < 0.01);
    for (const headers of [bob.headers, {}]) {
      const asOther = (await (await fetch(`${server.baseUrl}/images/${id}`, { headers })).json()) as Record<string, any>;
      assert.equal(asOther.gps, null);
      assert.equal(asOther.hasGps, null);
      assert.equal(asOther.takenAt, null);
      assert.deepEqual(asOther.camera, { make: 'Canon', model: 'EOS 5D' });
      assert.equal(asOther.status, 'ready');
      assert.equal(asOther.hash, sha256(jpeg));
    }
  });

  test('PATCH /images/{id}: the owner chooses to share where and when; others see exactly that; 403 others, 401 anonymous, 404 unknown, 400 bad body', async () => {
    const { id } = (await (await uploadImage(server.baseUrl, alice, await jpegWithGps('#654321', '2021:06:15 13:45:30'))).json()) as { id: string };
    const read = async (user: TestUser | null) =>
      (await (await fetch(`${server.baseUrl}/images/${id}`, { headers: user ? user.headers : {} })).json()) as Record<string, any>;
    const patch = (body: unknown, user: TestUser | null) =>
      fetch(`${server.baseUrl}/images/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', ...(user ? user.headers : {}) },
        body: JSON.stringify(body),
      });
    await eventually(async () => ((await read(alice)).metadataExtractedAt ? true : undefined), { what: 'the metadata job' });
    const before = await read(bob);
    assert.deepEqual([before.shareLocation, before.shareTakenAt, before.hasGps, before.takenAt], [false, false, null, null]);

    for (const [body, user, status, code] of [
      [{ shareLocation: true }, bob, 403, 'NOT_OWNER'],
      [{ shareLocation: true }, null, 401, 'UNAUTHENTICATED'],
      [{}, alice, 400, 'VALIDATION_FAILED'],
      [{ shareLocation: 'everywhere' }, alice, 400, 'VALIDATION_FAILED'],
    ] as const) {
      const refused = await patch(body, user);
      assert.equal(refused.status, status, JSON.stringify(body));
      assert.equal((await problemOf(refused)).code, code);
    }
    const unknown = await fetch(`${server.baseUrl}/images/does-not-exist`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', ...alice.headers },
      body: JSON.stringify({ shareLocation: true }),
    });
    assert.equal(unknown.status, 404);
    assert.equal((await problemOf(unknown)).code, 'IMAGE_NOT_FOUND');
    assert.equal((await read(bob)).hasGps, null, 'refused changes change nothing');

    const located = await patch({ shareLocation: true }, alice);
    assert.equal(located.status, 200);
    const asOwner = (await located.json()) as Record<string, any>;
    assert.deepEqual([asOwner.shareLocation, asOwner.shareTakenAt, asOwner.takenAt], [true, false, '2021-06-15T13:45:30.000Z']);
    for (const viewer of [bob, null]) {
      const seen = await read(viewer);
      assert.equal(seen.hasGps, true);
      assert.ok(Math.abs(seen.gps.latitude - 48.85) < 0.01);
      assert.equal(seen.takenAt, null);
    }

    assert.equal((await patch({ shareTakenAt: true, shareLocation: false }, alice)).status, 200);
    const timed = await read(null);
    assert.deepEqual([timed.takenAt, timed.hasGps, timed.gps, timed.shareLocation, timed.shareTakenAt], ['2021-06-15T13:45:30.000Z', null, null, false, true]);
  });

  test('DELETE /images/{id}: 403 for someone else, 204 for the owner, then 404; the blob stays for GC', async () => {
    const unique = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#123456' } })
      .png()
      .toBuffer();
    const { id } = (await (await uploadImage(server.baseUrl, alice, unique)).json()) as { id: string };
    const blobsBefore = await countFiles(join(server.dataDir, 'blobs'));
    const byBob = await fetch(`${server.baseUrl}/images/${id}`, { method: 'DELETE', headers: bob.headers });
    assert.equal(byBob.status, 403);
    assert.equal((await problemOf(byBob)).code, 'NOT_OWNER');
    const anonymous = await fetch(`${server.baseUrl}/images/${id}`, { method: 'DELETE' });
    assert.equal(anonymous.status, 401);
    const byAlice = await fetch(`${server.baseUrl}/images/${id}`, { method: 'DELETE', headers: alice.headers });
    assert.equal(byAlice.status, 204);
    for (const path of [`/images/${id}`, `/images/${id}.jpg`]) {
      const gone = await fetch(`${server.baseUrl}${path}`);
      assert.equal(gone.status, 404);
      assert.equal((await problemOf(gone)).code, 'IMAGE_NOT_FOUND');
    }
    assert.equal(await countFiles(join(server.dataDir, 'blobs')), blobsBefore);
  });

  test('unknown ids are 404 problems', async () => {
    for (const path of ['/images/does-not-exist', '/images/does-not-exist.jpg']) {
      const response = await fetch(`${server.baseUrl}${path}`);
      assert.equal(response.status, 404);
      assert.equal((await problemOf(response)).code, 'IMAGE_NOT_FOUND');
    }
  });
});
