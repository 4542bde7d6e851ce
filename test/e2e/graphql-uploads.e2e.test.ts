import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { distinctPng, signUpAndLogIn, type TestUser } from '../support/client.js';
import { graphql, type GraphqlBody, multipartOperation, onlyError } from '../support/graphql.js';
import { startServer, type RunningServer } from '../support/server.js';
import { runTusUpload } from '../support/tus.js';

interface Uploaded {
  uploadImage: {
    duplicate: boolean;
    image: { id: string; hash: string; format: string; width: number; height: number; size: number; url: string; owner: { username: string } };
  };
}

const uploadMutation = 'mutation($file: Upload!) { uploadImage(file: $file) { duplicate image { id hash format width height size url owner { username } } } }';
const maxUploadBytes = 20_000;

describe('GraphQL: uploadImage over the multipart request spec', () => {
  let server: RunningServer;
  let alice: TestUser;

  before(async () => {
    server = await startServer({ env: { MAX_UPLOAD_BYTES: String(maxUploadBytes) } });
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
  });
  after(() => server.cleanup());

  async function upload(bytes: Uint8Array, user: TestUser | null, headers: Record<string, string> = { 'apollo-require-preflight': 'true' }) {
    const { body, contentType } = multipartOperation(uploadMutation, bytes);
    const response = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(user ? user.headers : {}), ...headers },
      body,
    });
    return { status: response.status, body: (await response.json()) as GraphqlBody<Uploaded> };
  }

  test('an image streams in, is stored by its hash and served as the 600×600 JPEG; the same bytes again are a duplicate', async () => {
    const png = await distinctPng(8000);
    const first = await upload(png, alice);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const { image, duplicate } = first.body.data!.uploadImage;
    assert.equal(duplicate, false);
    assert.deepEqual(
      [image.hash, image.format, image.width, image.height, image.size, image.owner.username],
      [createHash('sha256').update(png).digest('hex'), 'png', 48, 32, png.length, alice.username],
    );
    const jpeg = await fetch(`${server.baseUrl}${image.url}`);
    assert.equal(jpeg.status, 200);
    assert.equal(jpeg.headers.get('content-type'), 'image/jpeg');

    const again = await upload(png, alice, { 'x-graphql-csrf': '1' });
    assert.deepEqual([again.body.data!.uploadImage.duplicate, again.body.data!.uploadImage.image.id], [true, image.id]);
  });

  test('without a preflight-forcing header the upload is refused as CSRF before it is read', async () => {
    const refused = await upload(await distinctPng(8001), alice, {});
    assert.equal(refused.status, 400);
    assert.equal(onlyError(refused.body).errorCode, 'CSRF_PREVENTED');
  });

  test('anonymous: UNAUTHENTICATED, and the unread file does not hang the response', async () => {
    const anonymous = await upload(randomBytes(15_000), null);
    assert.equal(onlyError(anonymous.body).code, 'UNAUTHENTICATED');
  });

  test('createPost takes a finished resumable upload (uploadId) once, idempotently', async () => {
    const png = await distinctPng(8003);
    const outcome = await runTusUpload(png, { baseUrl: server.baseUrl, headers: alice.headers });
    assert.equal(outcome.finished, true);
    const uploadId = new URL(outcome.url!).pathname.split('/').pop()!;
    const create = (key: string) =>
      graphql<{ createPost: { id: string; image: { hash: string; url: string } } }>(
        server.baseUrl,
        'mutation($u: ID, $k: String) { createPost(caption: "resumed", uploadId: $u, idempotencyKey: $k) { id image { hash url } } }',
        { u: uploadId, k: key },
        alice,
      );
    const [first, retry] = [await create('k1'), await create('k1')];
    assert.equal(first.body.data?.createPost.image.hash, createHash('sha256').update(png).digest('hex'));
    assert.equal(retry.body.data?.createPost.id, first.body.data?.createPost.id, 'a retry replays the post');
    assert.equal(onlyError((await create('k2')).body).errorCode, 'UPLOAD_ALREADY_CONSUMED');
    const both = await graphql(server.baseUrl, `mutation { createPost(caption: "x", imageId: "a", uploadId: "${uploadId}") { id } }`, {}, alice);
    assert.equal(onlyError(both.body).code, 'BAD_USER_INPUT');
  });

  test('too large while streaming, not an image, or not a file at all: each refused with its code', async () => {
    const large = await upload(randomBytes(maxUploadBytes + 5_000), alice);
    assert.deepEqual([onlyError(large.body).code, onlyError(large.body).errorCode], ['PAYLOAD_TOO_LARGE', 'IMAGE_TOO_LARGE']);
    const text = await upload(Buffer.from('just some text, not an image'), alice);
    assert.deepEqual([onlyError(text.body).code, onlyError(text.body).errorCode], ['UNSUPPORTED_MEDIA_TYPE', 'UNSUPPORTED_FORMAT']);
    // A JSON request cannot smuggle a string in as the file.
    const response = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...alice.headers },
      body: JSON.stringify({ query: uploadMutation, variables: { file: 'not-a-file' } }),
    });
    assert.equal(onlyError((await response.json()) as never).code, 'BAD_USER_INPUT');
    // The server still serves uploads afterwards (nothing left half-read).
    const ok = await upload(await distinctPng(8002), alice);
    assert.equal(ok.body.data?.uploadImage.duplicate, false);
  });
});
