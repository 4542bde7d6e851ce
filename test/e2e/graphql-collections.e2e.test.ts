import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { distinctPng, signUpAndLogIn, type TestUser, uploadImage } from '../support/client.js';
import { graphql, onlyError } from '../support/graphql.js';
import { startServer, type RunningServer } from '../support/server.js';

interface CollectionData {
  id: string;
  name: string;
  owner: { id: string; username: string };
  images: { id: string; collections: { id: string }[] }[];
}

const collectionFields = 'id name owner { id username } images { id collections { id } }';

describe('GraphQL: collections of images', () => {
  let server: RunningServer;
  let alice: TestUser;
  let bob: TestUser;
  let seed = 5000;

  before(async () => {
    server = await startServer();
    [alice, bob] = await Promise.all([signUpAndLogIn(server.baseUrl, 'alice'), signUpAndLogIn(server.baseUrl, 'bob')]);
  });
  after(() => server.cleanup());

  async function anImage(user: TestUser): Promise<string> {
    const response = await uploadImage(server.baseUrl, user, await distinctPng(seed++), 'photo.png', 'image/png');
    assert.equal(response.status, 201);
    return ((await response.json()) as { id: string }).id;
  }

  async function create(user: TestUser, name: string): Promise<CollectionData> {
    const { body } = await graphql<{ createCollection: CollectionData }>(
      server.baseUrl,
      `mutation($name: String!) { createCollection(name: $name) { ${collectionFields} } }`,
      { name },
      user,
    );
    assert.ok(body.data?.createCollection, JSON.stringify(body));
    return body.data.createCollection;
  }

  const add = (user: TestUser | null, collectionId: string, imageIds: string[]) =>
    graphql<{ addImagesToCollection: CollectionData }>(
      server.baseUrl,
      `mutation($c: ID!, $i: [ID!]!) { addImagesToCollection(collectionId: $c, imageIds: $i) { ${collectionFields} } }`,
      { c: collectionId, i: imageIds },
      user,
    );

  test('a collection is a set: adding twice is a no-op, and both sides agree', async () => {
    const [one, two] = [await anImage(alice), await anImage(alice)];
    const trip = await create(alice, 'Trip 🏔');
    assert.deepEqual([trip.name, trip.owner.username, trip.images], ['Trip 🏔', alice.username, []]);

    const first = await add(alice, trip.id, [one, two, one]);
    assert.deepEqual(first.body.data?.addImagesToCollection.images.map((i) => i.id).sort(), [one, two].sort());
    const again = await add(alice, trip.id, [two]);
    assert.equal(again.body.data?.addImagesToCollection.images.length, 2, 'adding again adds nothing');
    for (const image of again.body.data!.addImagesToCollection.images) assert.deepEqual(image.collections, [{ id: trip.id }]);

    const best = await create(alice, 'Best');
    await add(alice, best.id, [two]);
    const seen = await graphql<{ image: { collections: { id: string; name: string }[] } }>(
      server.baseUrl,
      '{ image(id: "' + two + '") { collections { id name } } }',
    );
    assert.deepEqual(seen.body.data?.image.collections, [
      { id: best.id, name: 'Best' },
      { id: trip.id, name: 'Trip 🏔' },
    ]);

    const removed = await graphql<{ removeImagesFromCollection: CollectionData }>(
      server.baseUrl,
      `mutation($c: ID!, $i: [ID!]!) { removeImagesFromCollection(collectionId: $c, imageIds: $i) { ${collectionFields} } }`,
      { c: trip.id, i: [two, 'not-in-it'] },
      alice,
    );
    assert.deepEqual(
      removed.body.data?.removeImagesFromCollection.images.map((i) => i.id),
      [one],
    );
    const twoNow = await graphql<{ image: { collections: { id: string }[] } }>(server.baseUrl, `{ image(id: "${two}") { collections { id } } }`);
    assert.deepEqual(twoNow.body.data?.image.collections, [{ id: best.id }]);
  });

  test('rename, delete; the viewer lists their own collections, newest first, in pages', async () => {
    const names = ['c1', 'c2', 'c3'];
    const made: CollectionData[] = [];
    for (const name of names) made.push(await create(bob, name));
    const renamed = await graphql<{ renameCollection: { name: string } }>(
      server.baseUrl,
      `mutation { renameCollection(id: "${made[0]!.id}", name: "first") { name } }`,
      {},
      bob,
    );
    assert.equal(renamed.body.data?.renameCollection.name, 'first');

    const page = (after: string | null) =>
      graphql<{ collections: { edges: { node: { name: string }; cursor: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(
        server.baseUrl,
        'query($after: String) { collections(first: 2, after: $after) { edges { node { name } cursor } pageInfo { hasNextPage endCursor } } }',
        { after },
        bob,
      );
    const one = (await page(null)).body.data!.collections;
    assert.deepEqual(
      one.edges.map((e) => e.node.name),
      ['c3', 'c2'],
    );
    assert.equal(one.pageInfo.hasNextPage, true);
    const two = (await page(one.pageInfo.endCursor)).body.data!.collections;
    assert.deepEqual(
      two.edges.map((e) => e.node.name),
      ['first'],
    );
    assert.equal(two.pageInfo.hasNextPage, false);

    const deleted = await graphql(server.baseUrl, `mutation { deleteCollection(id: "${made[1]!.id}") }`, {}, bob);
    assert.deepEqual(deleted.body.data, { deleteCollection: true });
    const gone = await graphql(server.baseUrl, `{ collection(id: "${made[1]!.id}") { id } }`);
    assert.deepEqual(gone.body, { data: { collection: null } });
    const again = await graphql(server.baseUrl, `mutation { deleteCollection(id: "${made[1]!.id}") }`, {}, bob);
    assert.deepEqual(onlyError(again.body), { code: 'NOT_FOUND', errorCode: 'COLLECTION_NOT_FOUND', message: `No collection with id ${made[1]!.id}` });
  });

  test('only the owner changes a collection, and only with their own images: FORBIDDEN', async () => {
    const mine = await create(alice, 'mine');
    const bobsImage = await anImage(bob);
    const alicesImage = await anImage(alice);
    const foreignImage = await add(alice, mine.id, [alicesImage, bobsImage]);
    assert.equal(foreignImage.status, 200);
    assert.equal(onlyError(foreignImage.body).code, 'FORBIDDEN');
    assert.equal(onlyError(foreignImage.body).errorCode, 'NOT_OWNER');
    // All or nothing: Alice's own image was not added either.
    const still = await graphql<{ collection: CollectionData }>(server.baseUrl, `{ collection(id: "${mine.id}") { ${collectionFields} } }`);
    assert.deepEqual(still.body.data?.collection.images, []);

    const writes = [
      add(bob, mine.id, [bobsImage]),
      graphql(server.baseUrl, `mutation { renameCollection(id: "${mine.id}", name: "bob's now") { id } }`, {}, bob),
      graphql(server.baseUrl, `mutation { deleteCollection(id: "${mine.id}") }`, {}, bob),
      graphql(server.baseUrl, `mutation { removeImagesFromCollection(collectionId: "${mine.id}", imageIds: ["${alicesImage}"]) { id } }`, {}, bob),
    ];
    for (const { body } of await Promise.all(writes)) assert.deepEqual(onlyError(body).code, 'FORBIDDEN');
    const name = await graphql<{ collection: { name: string } }>(server.baseUrl, `{ collection(id: "${mine.id}") { name } }`);
    assert.equal(name.body.data?.collection.name, 'mine');
  });

  test("anonymous writes and the anonymous viewer's list are UNAUTHENTICATED", async () => {
    const mine = await create(alice, 'private-ish');
    const anonymous = [
      graphql(server.baseUrl, 'mutation { createCollection(name: "x") { id } }'),
      add(null, mine.id, ['x']),
      graphql(server.baseUrl, `mutation { deleteCollection(id: "${mine.id}") }`, {}, null, { authorization: 'Bearer not-a-session' }),
      graphql(server.baseUrl, '{ collections { edges { node { id } } } }'),
    ];
    for (const { body } of await Promise.all(anonymous)) assert.equal(onlyError(body).code, 'UNAUTHENTICATED');
  });

  test('bad input is BAD_USER_INPUT: blank or long names, no or too many ids, a foreign cursor', async () => {
    const mine = await create(alice, 'inputs');
    const refusals = [
      graphql(server.baseUrl, 'mutation { createCollection(name: "   ") { id } }', {}, alice),
      graphql(server.baseUrl, `mutation { createCollection(name: "${'x'.repeat(101)}") { id } }`, {}, alice),
      add(alice, mine.id, []),
      add(
        alice,
        mine.id,
        Array.from({ length: 101 }, (_, i) => `id-${i}`),
      ),
      graphql(server.baseUrl, '{ collections(first: 0) { edges { cursor } } }', {}, alice),
      graphql(server.baseUrl, '{ collections(after: "forged.cursor") { edges { cursor } } }', {}, alice),
      // A variable of the wrong type never reaches a resolver.
      graphql(server.baseUrl, 'mutation($n: String!) { createCollection(name: $n) { id } }', { n: 42 }, alice),
    ];
    const codes = (await Promise.all(refusals)).map(({ body }) => onlyError(body));
    assert.deepEqual(
      codes.map((c) => c.code),
      Array(7).fill('BAD_USER_INPUT'),
    );
    assert.deepEqual(
      codes.slice(0, 6).map((c) => c.errorCode),
      ['VALIDATION_FAILED', 'VALIDATION_FAILED', 'VALIDATION_FAILED', 'VALIDATION_FAILED', 'VALIDATION_FAILED', 'INVALID_CURSOR'],
    );
    // Bob's cursor is not Alice's.
    await create(bob, 'b1');
    await create(bob, 'b2');
    const bobs = await graphql<{ collections: { pageInfo: { endCursor: string } } }>(
      server.baseUrl,
      '{ collections(first: 1) { pageInfo { endCursor } } }',
      {},
      bob,
    );
    const foreign = await graphql(
      server.baseUrl,
      'query($a: String) { collections(after: $a) { edges { cursor } } }',
      { a: bobs.body.data!.collections.pageInfo.endCursor },
      alice,
    );
    assert.equal(onlyError(foreign.body).errorCode, 'INVALID_CURSOR');
  });

  test('deleting an image takes it out of every collection', async () => {
    const image = await anImage(alice);
    const a = await create(alice, 'a');
    const b = await create(alice, 'b');
    await add(alice, a.id, [image]);
    await add(alice, b.id, [image]);
    const deleted = await graphql(server.baseUrl, `mutation { deleteImage(id: "${image}") }`, {}, alice);
    assert.deepEqual(deleted.body, { data: { deleteImage: true } });
    const both = await graphql<{ a: CollectionData; b: CollectionData }>(
      server.baseUrl,
      `{ a: collection(id: "${a.id}") { images { id } } b: collection(id: "${b.id}") { images { id } } }`,
    );
    assert.deepEqual(both.body.data, { a: { images: [] }, b: { images: [] } });
  });
});
