/**
 * Real objects for the fuzzers to aim at: a valid id reaches the code behind the 404, where the
 * interesting bugs are. Built over HTTP like any client would.
 */
import { distinctPng, postJson, signUpAndLogIn, type TestUser } from '../../support/client.js';
import { graphql } from '../../support/graphql.js';
import type { RunningServer } from '../../support/server.js';
import { createUpload, patchUpload } from '../../support/tus.js';

export interface World {
  /** Owns every object below. */
  alice: TestUser;
  /** Someone else: valid token, owns nothing of alice's. */
  bob: TestUser;
  adminToken: string;
  imageIds: string[];
  postIds: string[];
  commentIds: string[];
  collectionId: string;
  linkId: string;
  linkToken: string;
  /** Created, not finished (alice's). */
  openUploadIds: string[];
  /** Finished, not yet used (alice's): POST /images or /posts may consume them. */
  finishedUploadIds: string[];
  jobIds: string[];
  feedCursor: string | null;
  commentsCursor: string | null;
  /** A small PNG, and bytes of it that are not a whole image. */
  png: Buffer;
  /** A new session of alice's, for requests that end their own session. */
  freshToken(): Promise<string>;
  /** Ids by kind, for path parameters: every id of every kind, for cross-kind confusion. */
  allIds(): string[];
}

export async function buildWorld(server: RunningServer): Promise<World> {
  const base = server.baseUrl;
  const [alice, bob] = await Promise.all([signUpAndLogIn(base, 'alice'), signUpAndLogIn(base, 'bob')]);
  const admin = { 'x-access-token': server.adminToken };

  const imageIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const form = new FormData();
    form.append('image', new Blob([await distinctPng(1000 + i)], { type: 'image/png' }), `w${i}.png`);
    const response = await fetch(`${base}/images`, { method: 'POST', headers: alice.headers, body: form });
    imageIds.push((await expectJson<{ id: string }>(response, 'POST /images')).id);
  }
  const postIds: string[] = [];
  for (const imageId of imageIds) {
    const response = await postJson(base, '/posts', { caption: `world ${imageId}`, imageId }, alice.headers);
    postIds.push((await expectJson<{ id: string }>(response, 'POST /posts')).id);
  }
  const commentIds: string[] = [];
  for (const [author, body] of [
    [bob, 'first'],
    [alice, 'second'],
    [bob, 'third'],
  ] as const) {
    const response = await postJson(base, `/posts/${postIds[0]}/comments`, { body }, author.headers);
    commentIds.push((await expectJson<{ id: string }>(response, 'POST comments')).id);
  }
  const collection = await graphql<{ createCollection: { id: string } }>(base, 'mutation { createCollection(name: "world") { id } }', {}, alice);
  const collectionId = collection.body.data?.createCollection.id;
  if (!collectionId) throw new Error(`createCollection failed: ${JSON.stringify(collection.body)}`);

  const link = await expectJson<{ id: string; relativePath: string }>(
    await postJson(base, '/admin/upload-links', { sinceNow: 'PT1H' }, admin),
    'POST /admin/upload-links',
  );
  const linkToken = link.relativePath.split('/').pop()!;

  const uploadIdOf = (response: Response) => {
    const location = response.headers.get('location');
    if (response.status !== 201 || !location) throw new Error(`tus creation failed: ${response.status}`);
    return location.split('/').pop()!;
  };
  const openUploadIds = [uploadIdOf(await createUpload(base, alice.headers, 5000)), uploadIdOf(await createUpload(base, alice.headers, 70))];
  const finishedUploadIds: string[] = [];
  for (let i = 0; i < 2; i++) {
    const bytes = await distinctPng(2000 + i);
    const id = uploadIdOf(await createUpload(base, alice.headers, bytes.length));
    const patched = await patchUpload(`${base}/uploads/${id}`, alice.headers, 0, bytes);
    if (patched.status !== 204) throw new Error(`tus PATCH failed: ${patched.status}`);
    finishedUploadIds.push(id);
  }

  const jobs = await expectJson<{ jobs: { id: string }[] }>(await fetch(`${base}/admin/jobs?limit=5`, { headers: admin }), 'GET /admin/jobs');
  const feed = await expectJson<{ nextCursor: string | null }>(await fetch(`${base}/posts?limit=1`), 'GET /posts');
  const comments = await expectJson<{ nextCursor: string | null }>(await fetch(`${base}/posts/${postIds[0]}/comments?limit=1`), 'GET comments');

  const world: World = {
    alice,
    bob,
    adminToken: server.adminToken,
    imageIds,
    postIds,
    commentIds,
    collectionId,
    linkId: link.id,
    linkToken,
    openUploadIds,
    finishedUploadIds,
    jobIds: jobs.jobs.map((job) => job.id),
    feedCursor: feed.nextCursor,
    commentsCursor: comments.nextCursor,
    png: await distinctPng(3000),
    async freshToken() {
      const session = await expectJson<{ token: string }>(
        await postJson(base, '/sessions', { username: alice.username, password: alice.password }),
        'POST /sessions',
      );
      return session.token;
    },
    allIds: () => [
      ...imageIds,
      ...postIds,
      ...commentIds,
      collectionId,
      link.id,
      ...openUploadIds,
      ...finishedUploadIds,
      ...jobs.jobs.map((job) => job.id),
      alice.id,
      bob.id,
    ],
  };
  return world;
}

async function expectJson<T>(response: Response, what: string): Promise<T> {
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${what} failed while building the world: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}
