import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { postJson, problemOf, signUpAndLogIn, type TestUser } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';
import { createUpload, eventually, noisePng, patchAndHangUp, patchUpload, runTusUpload, sha256, uploadOffset } from '../support/tus.js';

const maxUploadBytes = 3 * 1024 * 1024;
const chunkSize = 128 * 1024;

/** The upload's id: the last segment of its URL. */
const idOf = (url: string) => new URL(url).pathname.split('/').pop()!;
/** The same upload on a server that came back on another port: a client keeps the path. */
const onServer = (url: string, server: RunningServer) => `${server.baseUrl}${new URL(url).pathname}`;

async function storedUploadIds(server: RunningServer): Promise<string[]> {
  const names = await readdir(join(server.dataDir, 'uploads')).catch(() => [] as string[]);
  return names.filter((name) => !name.endsWith('.json'));
}

async function consume(server: RunningServer, user: TestUser, uploadId: string): Promise<Response> {
  return postJson(server.baseUrl, '/images', { uploadId }, user.headers);
}

/** Expects the uploaded image to be exactly `bytes`: same SHA-256, servable JPEG. */
async function assertBecomesImage(server: RunningServer, user: TestUser, uploadId: string, bytes: Buffer): Promise<string> {
  const response = await consume(server, user, uploadId);
  assert.equal(response.status, 201, await response.clone().text());
  const image = (await response.json()) as { id: string; hash: string; size: number; format: string; url: string };
  assert.equal(image.hash, sha256(bytes), 'the assembled file differs from the original');
  assert.equal(image.size, bytes.length);
  assert.equal(image.format, 'png');
  assert.equal((await fetch(`${server.baseUrl}${image.url}`)).status, 200);
  return image.id;
}

describe('resumable uploads (tus) at /uploads', () => {
  let server: RunningServer;
  let alice: TestUser;
  let bob: TestUser;
  let png: Buffer;

  before(async () => {
    server = await startServer({ env: { MAX_UPLOAD_BYTES: String(maxUploadBytes) } });
    [alice, bob] = await Promise.all([signUpAndLogIn(server.baseUrl, 'alice'), signUpAndLogIn(server.baseUrl, 'bob')]);
    png = await noisePng(500, 400, 1); // ~600 KB: several chunks
  });
  after(() => server.cleanup());

  test('a tus-js-client upload becomes an image through POST /images {uploadId}, exactly once', async () => {
    const outcome = await runTusUpload(png, { baseUrl: server.baseUrl, headers: alice.headers, chunkSize });
    assert.equal(outcome.finished, true);
    assert.deepEqual(await uploadOffset(outcome.url!, alice.headers), { status: 200, offset: png.length });
    const uploadId = idOf(outcome.url!);
    const imageId = await assertBecomesImage(server, alice, uploadId, png);

    const again = await consume(server, alice, uploadId);
    assert.equal(again.status, 409);
    const problem = (await problemOf(again)) as unknown as { code: string; imageId: string };
    assert.equal(problem.code, 'UPLOAD_ALREADY_CONSUMED');
    assert.equal(problem.imageId, imageId);
    const asPost = await postJson(server.baseUrl, '/posts', { caption: 'again', uploadId }, alice.headers);
    assert.equal((await problemOf(asPost)).code, 'UPLOAD_ALREADY_CONSUMED');
    // The bytes moved into the blob store: the upload's copy is gone.
    assert.ok(!(await storedUploadIds(server)).includes(uploadId));
  });

  test('aborted inside a chunk, a fresh client resumes from the stored URL at the server offset', async () => {
    const bytes = await noisePng(500, 400, 2);
    let stored = '';
    const first = await runTusUpload(bytes, {
      baseUrl: server.baseUrl,
      headers: alice.headers,
      chunkSize,
      onUrl: (url) => (stored = url),
      abortWhen: (sent) => sent > chunkSize * 2 + 40_000,
    });
    assert.equal(first.finished, false);
    const { offset } = await uploadOffset(stored, alice.headers);
    assert.ok(offset !== null && offset >= chunkSize * 2 && offset < bytes.length, `offset ${offset}`);

    const resumed = await runTusUpload(bytes, { baseUrl: server.baseUrl, headers: alice.headers, uploadUrl: stored, chunkSize });
    assert.equal(resumed.finished, true);
    await assertBecomesImage(server, alice, idOf(stored), bytes);
  });

  test('a connection dropped mid-body keeps exactly the bytes that arrived; the last byte can come alone', async () => {
    const bytes = await noisePng(300, 200, 3);
    const created = await createUpload(server.baseUrl, alice.headers, bytes.length);
    assert.equal(created.status, 201);
    const url = new URL(created.headers.get('location')!, server.baseUrl).toString();

    // Inside a PATCH: 70,001 of the announced bytes, then the line goes dead.
    await patchAndHangUp(url, alice.headers, 0, bytes, 70_001);
    const cut = await eventually(
      () => uploadOffset(url, alice.headers),
      (head) => head.offset === 70_001,
    );
    assert.equal(cut.offset, 70_001);
    // Everything but the last byte, acknowledged: the upload is still unfinished.
    const most = await patchUpload(url, alice.headers, 70_001, bytes.subarray(70_001, bytes.length - 1));
    assert.equal(most.status, 204);
    assert.equal((await problemOf(await consume(server, alice, idOf(url)))).code, 'UPLOAD_NOT_FINISHED');
    // A wrong offset is a conflict and changes nothing (tus core).
    assert.equal((await patchUpload(url, alice.headers, 5, bytes.subarray(5, 10))).status, 409);

    const resumed = await runTusUpload(bytes, { baseUrl: server.baseUrl, headers: alice.headers, uploadUrl: url });
    assert.equal(resumed.finished, true);
    await assertBecomesImage(server, alice, idOf(url), bytes);
  });

  test('POST /posts {caption, uploadId} publishes a finished upload; an Idempotency-Key retry replays', async () => {
    const bytes = await noisePng(200, 150, 4);
    const { url } = await runTusUpload(bytes, { baseUrl: server.baseUrl, headers: alice.headers });
    const uploadId = idOf(url!);
    const headers = { ...alice.headers, 'idempotency-key': `post-${uploadId}` };
    const bad = await postJson(server.baseUrl, '/posts', { caption: 'x'.repeat(2_201), uploadId }, headers);
    assert.equal((await problemOf(bad)).code, 'VALIDATION_FAILED');
    const both = await postJson(server.baseUrl, '/posts', { caption: 'both', uploadId, imageId: 'x' }, alice.headers);
    assert.equal((await problemOf(both)).code, 'VALIDATION_FAILED');

    const first = await postJson(server.baseUrl, '/posts', { caption: 'from a resumable upload', uploadId }, headers);
    assert.equal(first.status, 201, await first.clone().text());
    const post = (await first.json()) as { id: string; caption: string; image: { id: string } };
    const retry = await postJson(server.baseUrl, '/posts', { caption: 'from a resumable upload', uploadId }, headers);
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await retry.json(), post);
    const shown = (await (await fetch(`${server.baseUrl}/posts/${post.id}`)).json()) as { image: { id: string } };
    assert.equal(shown.image.id, post.image.id);
  });

  test('without a token, over the size limit, or without a length: refused before a byte is stored', async () => {
    const before = await storedUploadIds(server);
    const anonymous = await createUpload(server.baseUrl, {}, 1000);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('tus-resumable'), '1.0.0');
    assert.equal((await problemOf(anonymous)).code, 'UNAUTHENTICATED');
    const tooLarge = await createUpload(server.baseUrl, alice.headers, maxUploadBytes + 1);
    assert.equal(tooLarge.status, 413);
    assert.equal((await problemOf(tooLarge)).code, 'IMAGE_TOO_LARGE');
    const deferred = await createUpload(server.baseUrl, alice.headers, null, { 'upload-defer-length': '1' });
    assert.equal((await problemOf(deferred)).code, 'VALIDATION_FAILED');
    assert.deepEqual(await storedUploadIds(server), before);
    // The capabilities are public; checksum is not offered (@tus/server 2.x has no checksum extension).
    const options = await fetch(`${server.baseUrl}/uploads`, { method: 'OPTIONS' });
    assert.equal(options.status, 204);
    assert.equal(options.headers.get('tus-max-size'), String(maxUploadBytes));
    assert.deepEqual(options.headers.get('tus-extension')?.split(','), ['creation', 'creation-with-upload', 'termination', 'expiration']);
  });

  test("one user's uploads are invisible to another: HEAD, PATCH, DELETE and consume are 404", async () => {
    const created = await createUpload(server.baseUrl, alice.headers, png.length);
    const url = new URL(created.headers.get('location')!, server.baseUrl).toString();
    assert.equal((await patchUpload(url, alice.headers, 0, png.subarray(0, 1000))).status, 204);

    assert.equal((await uploadOffset(url, bob.headers)).status, 404);
    assert.equal((await uploadOffset(url, {})).status, 401);
    const patched = await patchUpload(url, bob.headers, 1000, png.subarray(1000, 2000));
    assert.equal(patched.status, 404);
    assert.equal((await problemOf(patched)).code, 'UPLOAD_NOT_FOUND');
    const deleted = await fetch(url, { method: 'DELETE', headers: { ...bob.headers, 'tus-resumable': '1.0.0' } });
    assert.equal(deleted.status, 404);
    assert.equal((await problemOf(await consume(server, bob, idOf(url)))).code, 'UPLOAD_NOT_FOUND');
    // Alice's upload is untouched.
    assert.deepEqual(await uploadOffset(url, alice.headers), { status: 200, offset: 1000 });
    assert.equal((await problemOf(await consume(server, alice, 'f'.repeat(32)))).code, 'UPLOAD_NOT_FOUND');
  });

  test('bytes that are no image are refused when used, and nothing is created', async () => {
    const text = Buffer.from('not an image at all, just text that travelled over tus\n'.repeat(100));
    const { url } = await runTusUpload(text, { baseUrl: server.baseUrl, headers: alice.headers });
    const originals = join(server.dataDir, 'blobs', 'originals');
    const before = await readdir(originals, { recursive: true }).catch(() => []);
    for (const attempt of [1, 2]) {
      const refused = await consume(server, alice, idOf(url!));
      assert.equal(refused.status, 415, `attempt ${attempt}`);
      assert.equal((await problemOf(refused)).code, 'UNSUPPORTED_FORMAT');
    }
    const refusedPost = await postJson(server.baseUrl, '/posts', { caption: 'nope', uploadId: idOf(url!) }, alice.headers);
    assert.equal(refusedPost.status, 415);
    assert.deepEqual(await readdir(originals, { recursive: true }).catch(() => []), before);
  });

  test('termination removes the upload and its bytes', async () => {
    let stored = '';
    await runTusUpload(png, { baseUrl: server.baseUrl, headers: alice.headers, chunkSize, onUrl: (url) => (stored = url), abortAfterChunk: () => true });
    const id = idOf(stored);
    assert.ok((await storedUploadIds(server)).includes(id));
    const terminated = await fetch(stored, { method: 'DELETE', headers: { ...alice.headers, 'tus-resumable': '1.0.0' } });
    assert.equal(terminated.status, 204);
    assert.equal(terminated.headers.get('tus-resumable'), '1.0.0');
    assert.equal((await uploadOffset(stored, alice.headers)).status, 404);
    assert.equal((await problemOf(await consume(server, alice, id))).code, 'UPLOAD_NOT_FOUND');
    assert.ok(!(await storedUploadIds(server)).includes(id));
  });

  test('kill -9 mid-upload: after the restart a fresh client resumes and the file arrives intact', async () => {
    const bytes = await noisePng(900, 900, 5); // ~2.4 MB
    let stored = '';
    let killing: Promise<void> | null = null;
    await runTusUpload(bytes, {
      baseUrl: server.baseUrl,
      headers: alice.headers,
      chunkSize: 256 * 1024,
      onUrl: (url) => (stored = url),
      abortWhen: (sent) => {
        // In the middle of the third chunk's body, the server dies.
        if (sent > 600 * 1024 && !killing) killing = server.kill();
        return false;
      },
    }).catch(() => undefined); // the connection dies under the client
    assert.ok(killing, 'the upload finished before the server could be killed');
    await killing;
    server = await server.restart();

    const url = onServer(stored, server);
    const { offset } = await uploadOffset(url, alice.headers);
    assert.ok(offset !== null && offset >= 512 * 1024 && offset < bytes.length, `offset ${offset}`);
    const resumed = await runTusUpload(bytes, { baseUrl: server.baseUrl, headers: alice.headers, uploadUrl: url, chunkSize: 256 * 1024 });
    assert.equal(resumed.finished, true);
    await assertBecomesImage(server, alice, idOf(url), bytes);
  });
});

describe('resumable uploads expire', () => {
  let server: RunningServer;
  let carol: TestUser;

  before(async () => {
    server = await startServer({ env: { UPLOAD_EXPIRY_SECONDS: '6', UPLOAD_SWEEP_INTERVAL_SECONDS: '1' } });
    carol = await signUpAndLogIn(server.baseUrl, 'carol');
  });
  after(() => server.cleanup());

  test('the sweep removes expired uploads, bytes and row, and leaves one in progress alone', async () => {
    const bytes = await noisePng(300, 200, 6);
    const created = await createUpload(server.baseUrl, carol.headers, bytes.length);
    const url = new URL(created.headers.get('location')!, server.baseUrl).toString();
    assert.match(created.headers.get('upload-expires') ?? '', /GMT$/);
    await patchUpload(url, carol.headers, 0, bytes.subarray(0, 10_000));
    const abandoned = idOf(url);

    // Meanwhile another upload trickles in across several sweeps and finishes before it expires.
    let trickleUrl = '';
    const trickle = await runTusUpload(bytes, {
      baseUrl: server.baseUrl,
      headers: carol.headers,
      chunkSize: 20_000,
      onUrl: (u) => (trickleUrl = u),
      // A slow phone: sweeps run between its chunks.
      beforePatch: () => new Promise((resolve) => setTimeout(resolve, 150)),
    });
    assert.equal(trickle.finished, true);
    assert.ok(trickleUrl);
    await assertBecomesImage(server, carol, idOf(trickleUrl), bytes);

    const ids = await eventually(
      () => storedUploadIds(server),
      (stored) => !stored.includes(abandoned),
      12_000,
    );
    assert.ok(!ids.includes(abandoned), 'the expired upload is still on disk');
    // The row goes right after the bytes; until then the upload answers 410 Gone.
    const head = await eventually(
      () => uploadOffset(url, carol.headers),
      ({ status }) => status === 404,
    );
    assert.equal(head.status, 404);
    assert.equal((await problemOf(await consume(server, carol, abandoned))).code, 'UPLOAD_NOT_FOUND');
    // The sweep logs once its whole run is over (it also looks for orphaned files after removing
    // rows), which can be a moment after the 404 above on a loaded machine.
    const logged = await eventually(
      async () => server.output.some((line) => line.includes('swept expired uploads')),
      (seen) => seen,
      10_000,
    );
    assert.ok(logged, 'the sweep did not log what it removed');
  });
});
