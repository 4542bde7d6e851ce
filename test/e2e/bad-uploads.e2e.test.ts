import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { request as undiciRequest } from 'undici';
import { problemOf, signUpAndLogIn, uploadImage, type TestUser } from '../support/client.js';
import { bombBmpBytes, bombPngBytes } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';

const maxUploadBytes = 2 * 1024 * 1024;

async function filesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

describe('bad uploads get clear 4xx problems and leave nothing behind', () => {
  let server: RunningServer;
  let user: TestUser;
  let jpeg: Buffer;

  before(async () => {
    server = await startServer({ env: { MAX_UPLOAD_BYTES: String(maxUploadBytes), MAX_IMAGE_PIXELS: '50000000' } });
    user = await signUpAndLogIn(server.baseUrl);
    jpeg = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#884422' } })
      .jpeg()
      .toBuffer();
  });
  after(() => server.cleanup());

  /** After each refusal: no staging leftovers, no blobs, no image rows (the user has none). */
  async function assertNothingLeft(): Promise<void> {
    assert.deepEqual(await filesUnder(join(server.dataDir, 'staging')), []);
    assert.deepEqual(await filesUnder(join(server.dataDir, 'blobs')), []);
  }

  const cases: [string, () => Promise<Uint8Array>, number, string][] = [
    ['wrong magic bytes (text named .png)', async () => Buffer.from('this is not an image at all, just text'), 415, 'UNSUPPORTED_FORMAT'],
    ['a PDF', async () => Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n'), 415, 'UNSUPPORTED_FORMAT'],
    ['an empty file', async () => Buffer.alloc(0), 415, 'UNSUPPORTED_FORMAT'],
    ['a truncated JPEG', async () => jpeg.subarray(0, Math.floor(jpeg.length / 2)), 422, 'CORRUPT_IMAGE'],
    [
      'a truncated PNG',
      async () => {
        const png = await sharp({ create: { width: 400, height: 400, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
          .png()
          .toBuffer();
        return png.subarray(0, Math.floor(png.length / 2));
      },
      422,
      'CORRUPT_IMAGE',
    ],
    ['a JPEG header followed by garbage', async () => Buffer.concat([jpeg.subarray(0, 200), Buffer.alloc(5000, 0x41)]), 422, 'CORRUPT_IMAGE'],
    ['a PNG pixel bomb (tiny file, huge header)', bombPngBytes, 422, 'IMAGE_DIMENSIONS_TOO_LARGE'],
    ['a BMP pixel bomb', bombBmpBytes, 422, 'IMAGE_DIMENSIONS_TOO_LARGE'],
  ];
  for (const [name, make, status, code] of cases) {
    test(`${name} → ${status} ${code}`, async () => {
      const response = await uploadImage(server.baseUrl, user, await make(), 'upload.png', 'image/png');
      assert.equal(response.status, status);
      assert.equal((await problemOf(response)).code, code);
      await assertNothingLeft();
    });
  }

  test('an upload over the size limit is 413 while streaming (no Content-Length to trust)', async () => {
    // A chunked multipart body: the server cannot know the size up front and must count.
    const boundary = 'imagegram-test-boundary';
    const chunk = Buffer.alloc(256 * 1024, 0x42);
    async function* body() {
      yield Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="big.jpg"\r\ncontent-type: image/jpeg\r\n\r\n`);
      yield jpeg.subarray(0, 4);
      for (let sent = 0; sent < maxUploadBytes * 2; sent += chunk.length) yield chunk;
      yield Buffer.from(`\r\n--${boundary}--\r\n`);
    }
    const response = await undiciRequest(`${server.baseUrl}/images`, {
      method: 'POST',
      headers: { ...user.headers, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: Readable.from(body()),
    });
    assert.equal(response.statusCode, 413);
    const problem = (await response.body.json()) as { code: string; limit: number };
    assert.equal(problem.code, 'IMAGE_TOO_LARGE');
    assert.equal(problem.limit, maxUploadBytes);
    await assertNothingLeft();
  });

  test('an honest Content-Length over the limit is refused before the body is read', async () => {
    // node:http reports a response that arrives while the body is still being sent, as curl and
    // browsers do; the server answers at once and closes instead of reading megabytes it will refuse.
    const declared = maxUploadBytes + 4 * 1024 * 1024;
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${server.baseUrl}/images`, {
        method: 'POST',
        headers: { ...user.headers, 'content-type': 'multipart/form-data; boundary=x', 'content-length': declared },
      });
      request.on('response', (response) => {
        let text = '';
        response
          .setEncoding('utf8')
          .on('data', (chunk: string) => (text += chunk))
          .on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      });
      request.on('error', reject);
      request.write(Buffer.alloc(64 * 1024, 1));
    });
    assert.equal(status, 413);
    assert.equal(JSON.parse(body).code, 'IMAGE_TOO_LARGE');
    await assertNothingLeft();
  });

  test('no file part, a JSON body, or no multipart at all → 400 IMAGE_MISSING', async () => {
    const form = new FormData();
    form.append('caption', 'no image here');
    const noFile = await fetch(`${server.baseUrl}/images`, { method: 'POST', headers: user.headers, body: form });
    assert.equal(noFile.status, 400);
    assert.equal((await problemOf(noFile)).code, 'IMAGE_MISSING');
    const json = await fetch(`${server.baseUrl}/images`, { method: 'POST', headers: { ...user.headers, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(json.status, 400);
    assert.equal((await problemOf(json)).code, 'IMAGE_MISSING');
  });

  test('a multipart body cut off mid-part, or without a boundary, is 400 MALFORMED_MULTIPART', async () => {
    const boundary = 'cut-off';
    for (const contentType of [`multipart/form-data; boundary=${boundary}`, 'multipart/form-data']) {
      const response = await fetch(`${server.baseUrl}/images`, {
        method: 'POST',
        headers: { ...user.headers, 'content-type': contentType },
        body: `--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="x.jpg"\r\n\r\n\xff\xd8\xff`,
      });
      assert.equal(response.status, 400, contentType);
      assert.equal((await problemOf(response)).code, 'MALFORMED_MULTIPART');
    }
    await assertNothingLeft();
  });

  test('uploading without a session is 401 and nothing is stored', async () => {
    const response = await uploadImage(server.baseUrl, null, jpeg);
    assert.equal(response.status, 401);
    assert.equal((await problemOf(response)).code, 'UNAUTHENTICATED');
    const forged = await uploadImage(server.baseUrl, { ...user, headers: { authorization: 'Bearer forged-token' } }, jpeg);
    assert.equal(forged.status, 401);
    await assertNothingLeft();
  });

  test('the server is still healthy after all of that', async () => {
    const response = await uploadImage(server.baseUrl, user, jpeg);
    assert.equal(response.status, 201);
  });
});
