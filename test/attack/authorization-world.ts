import assert from 'node:assert/strict';
import { distinctPng, eventually, postJson, signUpAndLogIn, type TestUser } from '../support/client.js';
import { graphql } from '../support/graphql.js';
import type { RunningServer } from '../support/server.js';
import { createUpload, patchUpload } from '../support/tus.js';

/**
 * Who calls. `admin` sends the admin token as a bearer token (user routes must not take it for a
 * session); `userAsAdmin` sends the other user's session token as the admin token.
 */
export const actors = ['anonymous', 'owner', 'other', 'admin', 'userAsAdmin'] as const;
export type Actor = (typeof actors)[number];

/**
 * Everything the owner (alice) has, each object given to at most one destructive case so the
 * order of the owner's own (allowed) runs does not matter; plus what the other user (bob) owns.
 */
export interface World {
  server: RunningServer;
  alice: TestUser;
  bob: TestUser;
  headersOf: Record<Actor, Record<string, string>>;
  /** Alice's images: posted, in her collection, and two with no post (to be deleted). */
  image: { posted: string; collected: string; forRestDelete: string; forGraphqlDelete: string };
  post: string;
  /** Alice's comment on her post. */
  comment: string;
  /** The same again, for GraphQL's cases (REST's owner runs delete the first pair). */
  graphqlPost: string;
  graphqlComment: string;
  collection: { shared: string; forDelete: string };
  /** A cursor of alice's collection listing. */
  collectionsCursor: string;
  /** Alice's tus uploads: unfinished ones (bytes received), finished ones (to be used once each). */
  upload: { partial: string; forDelete: string; forImages: string; forPosts: string; forGraphql: string };
  partialOffset: number;
  bobCollection: string;
  bobPost: string;
  link: { id: string; token: string };
  job: string;
  seed: number;
}

/** Event types the background worker appends on its own (not caused by the request under test). */
export const backgroundEvents = new Set(['ImageMetadataExtracted', 'DerivativeRendered', 'BlobMissing', 'BlobRestored', 'BlobDeleted', 'UploadCompleted']);

export async function buildWorld(server: RunningServer): Promise<World> {
  const { baseUrl } = server;
  const [alice, bob] = await Promise.all([signUpAndLogIn(baseUrl, 'alice'), signUpAndLogIn(baseUrl, 'bob')]);
  let seed = 1;
  const image = async (user: TestUser): Promise<string> => {
    const form = new FormData();
    form.append('image', new Blob([await distinctPng(seed++)], { type: 'image/png' }), 'photo.png');
    const response = await fetch(`${baseUrl}/images`, { method: 'POST', headers: user.headers, body: form });
    assert.equal(response.status, 201, await response.clone().text());
    return ((await response.json()) as { id: string }).id;
  };
  const created = async (response: Response | Promise<Response>): Promise<Record<string, any>> => {
    const done = await response;
    assert.ok(done.status === 201 || done.status === 200, `${done.status} ${await done.clone().text()}`);
    return (await done.json()) as Record<string, any>;
  };
  const gql = async (query: string, variables: Record<string, unknown>, user: TestUser) => {
    const { body } = await graphql(baseUrl, query, variables, user);
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data!;
  };
  const upload = async (bytes: Buffer, sent: number): Promise<string> => {
    const location = (await createUpload(baseUrl, alice.headers, bytes.length)).headers.get('location')!;
    if (sent > 0) assert.equal((await patchUpload(`${baseUrl}${location}`, alice.headers, 0, bytes.subarray(0, sent))).status, 204);
    return location.split('/').pop()!;
  };

  const images = { posted: await image(alice), collected: await image(alice), forRestDelete: await image(alice), forGraphqlDelete: await image(alice) };
  const post = (await created(postJson(baseUrl, '/posts', { caption: 'alice', imageId: images.posted }, alice.headers))).id as string;
  const comment = (await created(postJson(baseUrl, `/posts/${post}/comments`, { body: 'mine' }, alice.headers))).id as string;
  const graphqlPost = (await created(postJson(baseUrl, '/posts', { caption: 'alice again', imageId: images.collected }, alice.headers))).id as string;
  const graphqlComment = (await created(postJson(baseUrl, `/posts/${graphqlPost}/comments`, { body: 'mine too' }, alice.headers))).id as string;
  const newCollection = async (user: TestUser, name: string, imageIds: string[]) => {
    const { createCollection } = await gql('mutation($n: String!) { createCollection(name: $n) { id } }', { n: name }, user);
    if (imageIds.length > 0)
      await gql(
        'mutation($c: ID!, $i: [ID!]!) { addImagesToCollection(collectionId: $c, imageIds: $i) { id } }',
        { c: createCollection.id, i: imageIds },
        user,
      );
    return createCollection.id as string;
  };
  const collection = { shared: await newCollection(alice, 'shared', [images.collected]), forDelete: await newCollection(alice, 'doomed', []) };
  const listing = await gql('{ collections(first: 1) { pageInfo { endCursor } } }', {}, alice);
  const bobImage = await image(bob);
  const bobPost = (await created(postJson(baseUrl, '/posts', { caption: 'bob', imageId: bobImage }, bob.headers))).id as string;
  const bobCollection = await newCollection(bob, 'bob', [bobImage]);

  const png = await distinctPng(seed++);
  const partialOffset = 40;
  const uploads = {
    partial: await upload(png, partialOffset),
    forDelete: await upload(png, partialOffset),
    forImages: await upload(await distinctPng(seed++), Number.POSITIVE_INFINITY),
    forPosts: await upload(await distinctPng(seed++), Number.POSITIVE_INFINITY),
    forGraphql: await upload(await distinctPng(seed++), Number.POSITIVE_INFINITY),
  };

  const adminHeaders = { authorization: `Bearer ${server.adminToken}` };
  const link = await created(postJson(baseUrl, '/admin/upload-links', { sinceNow: 'PT1H' }, adminHeaders));
  const jobs = (await (await fetch(`${baseUrl}/admin/jobs`, { headers: adminHeaders })).json()) as { jobs: { id: string }[] };
  assert.ok(jobs.jobs[0], 'no job to point admin routes at');

  const world: World = {
    server,
    alice,
    bob,
    headersOf: { anonymous: {}, owner: alice.headers, other: bob.headers, admin: adminHeaders, userAsAdmin: { 'x-access-token': bob.token } },
    image: images,
    post,
    comment,
    graphqlPost,
    graphqlComment,
    collection,
    collectionsCursor: listing.collections.pageInfo.endCursor,
    upload: uploads,
    partialOffset,
    bobCollection,
    bobPost,
    link: { id: link.id, token: (link.relativePath as string).split('/').pop()! },
    job: jobs.jobs[0].id,
    seed,
  };
  await quiet(world);
  return world;
}

/** Waits until the background jobs the fixtures caused have run, so the snapshot holds still. */
async function quiet(world: World): Promise<void> {
  const { baseUrl } = world.server;
  await eventually(
    async () => {
      const response = await fetch(`${baseUrl}/admin/jobs`, { headers: world.headersOf.admin });
      const { counts } = (await response.json()) as { counts: Record<string, number> };
      return (counts.queued ?? 0) + (counts.running ?? 0) === 0 ? true : undefined;
    },
    { what: 'the job queue to drain' },
  );
}

/** Alice's objects as she sees them, and the link's usage: what no refused request may change. */
export async function snapshot(world: World): Promise<string> {
  const { baseUrl } = world.server;
  const asAlice = world.alice.headers;
  const read = async (path: string, headers: Record<string, string> = asAlice) => {
    const response = await fetch(`${baseUrl}${path}`, { headers });
    return [path, response.status, await response.text()];
  };
  const offset = async (id: string) => {
    const response = await fetch(`${baseUrl}/uploads/${id}`, { method: 'HEAD', headers: { ...asAlice, 'tus-resumable': '1.0.0' } });
    return [id, response.status, response.headers.get('upload-offset')];
  };
  const collections = await graphql(
    baseUrl,
    'query($a: ID!, $b: ID!) { a: collection(id: $a) { name images { id } } b: collection(id: $b) { name images { id } } me { id } }',
    { a: world.collection.shared, b: world.collection.forDelete },
    world.alice,
  );
  const parts = await Promise.all([
    ...Object.values(world.image).map((id) => read(`/images/${id}`)),
    ...[world.post, world.graphqlPost].flatMap((id) => [read(`/posts/${id}`), read(`/posts/${id}/comments`)]),
    ...Object.values(world.upload).map(offset),
    read(`/admin/upload-links/${world.link.id}`, world.headersOf.admin),
  ]);
  return JSON.stringify([parts, collections.body]);
}

/** Events appended after `position` that a request caused (background work left out). */
export async function requestEventsAfter(
  world: World,
  position: number,
): Promise<{ events: { type: string; subjectId: string; actorId: string | null }[]; last: number }> {
  const response = await fetch(`${world.server.baseUrl}/admin/events?after=${position}&limit=1000`, { headers: world.headersOf.admin });
  const page = (await response.json()) as { events: { type: string; subjectId: string; actorId: string | null; position: number }[]; nextAfter: number };
  return { events: page.events.filter((event) => !backgroundEvents.has(event.type)), last: page.nextAfter };
}
