import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createPost, distinctPng, postJson, problemOf, signUpAndLogIn, type TestUser, uploadImage } from '../support/client.js';
import { graphql, multipartOperation } from '../support/graphql.js';
import { type RunningServer, startServer } from '../support/server.js';

/** The wiring of the write commands: every API reaches the same command, so they agree by construction. */
describe('write commands over every transport: one idempotency fingerprint, one upload metric', () => {
  let server: RunningServer;
  let alice: TestUser;
  let seed = 9100;

  before(async () => {
    server = await startServer();
    alice = await signUpAndLogIn(server.baseUrl, 'alice');
  });
  after(() => server.cleanup());

  async function newImageId(): Promise<string> {
    const response = await uploadImage(server.baseUrl, alice, await distinctPng(seed++), 'a.png', 'image/png');
    assert.equal(response.status, 201);
    return ((await response.json()) as { id: string }).id;
  }

  /** `imagegram_uploads_total{result}` as /metrics reports it now. */
  async function uploadsCounted(result: string): Promise<number> {
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    const match = new RegExp(`^imagegram_uploads_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text);
    return match ? Number(match[1]) : 0;
  }

  test('a REST retry of a GraphQL createPost with the same key replays it; another caption is a reused key', async () => {
    const imageId = await newImageId();
    const key = randomUUID();
    const mutation =
      'mutation($caption: String!, $imageId: ID, $key: String) { createPost(caption: $caption, imageId: $imageId, idempotencyKey: $key) { id } }';
    const viaGraphql = await graphql<{ createPost: { id: string } }>(server.baseUrl, mutation, { caption: 'both ways', imageId, key }, alice);
    const postId = viaGraphql.body.data?.createPost.id;
    assert.ok(postId, JSON.stringify(viaGraphql.body));

    const viaRest = await postJson(server.baseUrl, '/posts', { caption: 'both ways', imageId }, { ...alice.headers, 'idempotency-key': key });
    assert.equal(viaRest.status, 201);
    assert.equal(viaRest.headers.get('idempotent-replayed'), 'true');
    assert.equal(((await viaRest.json()) as { id: string }).id, postId);

    const other = await postJson(server.baseUrl, '/posts', { caption: 'another caption', imageId }, { ...alice.headers, 'idempotency-key': key });
    assert.equal(other.status, 422);
    assert.equal((await problemOf(other)).code, 'IDEMPOTENCY_KEY_REUSED');
  });

  test('a GraphQL retry of a REST comment with the same key replays it', async () => {
    const created = await postJson(server.baseUrl, '/posts', { caption: 'for comments', imageId: await newImageId() }, alice.headers);
    const postId = ((await created.json()) as { id: string }).id;
    const key = randomUUID();
    const viaRest = await postJson(server.baseUrl, `/posts/${postId}/comments`, { body: 'once' }, { ...alice.headers, 'idempotency-key': key });
    assert.equal(viaRest.status, 201);
    const commentId = ((await viaRest.json()) as { id: string }).id;
    const mutation = 'mutation($postId: ID!, $body: String!, $key: String) { addComment(postId: $postId, body: $body, idempotencyKey: $key) { id } }';
    const viaGraphql = await graphql<{ addComment: { id: string } }>(server.baseUrl, mutation, { postId, body: 'once', key }, alice);
    assert.equal(viaGraphql.body.data?.addComment.id, commentId);
    const post = (await (await fetch(`${server.baseUrl}/posts/${postId}`)).json()) as { commentCount: number };
    assert.equal(post.commentCount, 1);
  });

  test('uploads via REST, a multipart post, GraphQL and an upload link all count in imagegram_uploads_total', async () => {
    const created = await uploadsCounted('created');
    const duplicate = await uploadsCounted('duplicate');
    const bytes = await distinctPng(seed++);
    assert.equal((await uploadImage(server.baseUrl, alice, bytes, 'a.png', 'image/png')).status, 201);
    assert.equal((await createPost(server.baseUrl, alice, await distinctPng(seed++), 'multipart')).status, 201);

    const { body, contentType } = multipartOperation('mutation($file: Upload!) { uploadImage(file: $file) { duplicate } }', bytes);
    const viaGraphql = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': contentType, 'apollo-require-preflight': 'true', ...alice.headers },
      body,
    });
    assert.deepEqual(await viaGraphql.json(), { data: { uploadImage: { duplicate: true } } });

    const minted = await postJson(server.baseUrl, '/admin/upload-links', { sinceNow: 'PT1H' }, { 'x-access-token': server.adminToken });
    const { relativePath } = (await minted.json()) as { relativePath: string };
    const form = new FormData();
    form.append('image', new Blob([await distinctPng(seed++)], { type: 'image/png' }), 'linked.png');
    assert.equal((await fetch(`${server.baseUrl}${relativePath}`, { method: 'POST', body: form })).status, 200);

    const refused = await uploadImage(server.baseUrl, alice, Buffer.from('not an image'), 'a.png', 'image/png');
    assert.equal(refused.status, 415);

    assert.equal((await uploadsCounted('created')) - created, 3, 'REST, the multipart post and the link');
    assert.equal((await uploadsCounted('duplicate')) - duplicate, 1, 'GraphQL, with the bytes REST sent first');
    assert.ok((await uploadsCounted('UNSUPPORTED_FORMAT')) >= 1);
  });
});
