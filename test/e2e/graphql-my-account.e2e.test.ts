import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { addComment, createPost, distinctPng, eventually, postJson, signUpAndLogIn, type TestUser, uploadImage } from '../support/client.js';
import { graphql, onlyError } from '../support/graphql.js';
import { startServer, type RunningServer } from '../support/server.js';

async function jpegWithGps(): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'Canon', Model: 'EOS 5D' },
      IFD2: { DateTimeOriginal: '2021:06:15 13:45:30' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 0/1' },
    })
    .toBuffer();
}

describe('my account over GraphQL: the same operations and rules as REST', () => {
  let server: RunningServer;
  let seed = 500;
  before(async () => {
    server = await startServer();
  });
  after(() => server.cleanup());

  const post = async (user: TestUser, caption: string) =>
    (await (await createPost(server.baseUrl, user, await distinctPng(seed++), caption)).json()) as { id: string };

  test("me.posts and User.posts page a user's posts newest first; User.images only on yourself", async () => {
    const [alice, bob] = [await signUpAndLogIn(server.baseUrl, 'gq'), await signUpAndLogIn(server.baseUrl, 'gq')];
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await post(alice, `p${i}`)).id);
    const query = `query ($after: String) { me { posts(first: 2, after: $after) { edges { node { id author { username } } } pageInfo { hasNextPage endCursor } } images(first: 10) { edges { node { id } } } } }`;
    const first = await graphql(server.baseUrl, query, {}, alice);
    const page1 = first.body.data!.me.posts;
    assert.deepEqual(
      page1.edges.map((e: any) => e.node.id),
      [ids[2], ids[1]],
    );
    assert.equal(page1.pageInfo.hasNextPage, true);
    const second = await graphql(server.baseUrl, query, { after: page1.pageInfo.endCursor }, alice);
    assert.deepEqual(
      second.body.data!.me.posts.edges.map((e: any) => e.node.id),
      [ids[0]],
    );
    assert.equal(first.body.data!.me.images.edges.length, 3);

    // Through someone else's eyes: the posts are public, the images listing is not.
    const seen = await graphql(
      server.baseUrl,
      `query ($id: ID!) { post(id: $id) { author { posts(first: 5) { edges { node { id } } } images(first: 5) { edges { node { id } } } } } }`,
      { id: ids[0] },
      bob,
    );
    assert.deepEqual(
      seen.body.data!.post.author.posts.edges.map((e: any) => e.node.id),
      [...ids].reverse(),
    );
    assert.equal(seen.body.data!.post.author.images, null);
    const bad = await graphql(server.baseUrl, query, { after: 'garbage' }, alice);
    assert.equal(onlyError(bad.body).errorCode, 'INVALID_CURSOR');
  });

  test('Image takenAt, hasGps and gps only for the owner; the camera for everyone', async () => {
    const alice = await signUpAndLogIn(server.baseUrl, 'gqexif');
    const bob = await signUpAndLogIn(server.baseUrl, 'gqexif');
    const { id } = (await (await uploadImage(server.baseUrl, alice, await jpegWithGps())).json()) as { id: string };
    const query = `query ($id: ID!) { image(id: $id) { cameraMake cameraModel takenAt hasGps gps { latitude longitude } } }`;
    const asOwner = await eventually(
      async () => {
        const image = (await graphql(server.baseUrl, query, { id }, alice)).body.data!.image;
        return image.cameraMake ? image : undefined;
      },
      { what: 'the metadata job' },
    );
    assert.equal(asOwner.takenAt, '2021-06-15T13:45:30.000Z');
    assert.equal(asOwner.hasGps, true);
    assert.ok(Math.abs(asOwner.gps.latitude - 48.85) < 0.01);
    for (const viewer of [bob, null]) {
      const asOther = (await graphql(server.baseUrl, query, { id }, viewer)).body.data!.image;
      assert.deepEqual(asOther, { cameraMake: 'Canon', cameraModel: 'EOS 5D', takenAt: null, hasGps: null, gps: null });
    }
  });

  test('setImageSharing: the owner shares where and when; others then see it (FORBIDDEN for others, NOT_FOUND unknown)', async () => {
    const [alice, bob] = [await signUpAndLogIn(server.baseUrl, 'gqshare'), await signUpAndLogIn(server.baseUrl, 'gqshare')];
    const bytes = await sharp(await jpegWithGps())
      .composite([{ input: { create: { width: 4, height: 4, channels: 3, background: '#ff0000' } }, left: 0, top: 0 }])
      .withExif({
        IFD0: { Make: 'Canon', Model: 'EOS 5D' },
        IFD2: { DateTimeOriginal: '2021:06:15 13:45:30' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 0/1' },
      })
      .jpeg()
      .toBuffer();
    const { id } = (await (await uploadImage(server.baseUrl, alice, bytes)).json()) as { id: string };
    const query = `query ($id: ID!) { image(id: $id) { takenAt hasGps shareLocation shareTakenAt } }`;
    await eventually(async () => ((await graphql(server.baseUrl, query, { id }, alice)).body.data!.image.hasGps ? true : undefined), {
      what: 'the metadata job',
    });
    const share = `mutation ($id: ID!, $l: Boolean, $t: Boolean) { setImageSharing(id: $id, shareLocation: $l, shareTakenAt: $t) { shareLocation shareTakenAt takenAt } }`;
    assert.equal(onlyError((await graphql(server.baseUrl, share, { id, l: true }, bob)).body).errorCode, 'NOT_OWNER');
    assert.equal(onlyError((await graphql(server.baseUrl, share, { id: 'nope', l: true }, alice)).body).code, 'NOT_FOUND');
    assert.equal(onlyError((await graphql(server.baseUrl, share, { id }, alice)).body).errorCode, 'VALIDATION_FAILED');
    assert.deepEqual((await graphql(server.baseUrl, query, { id }, bob)).body.data!.image, {
      takenAt: null,
      hasGps: null,
      shareLocation: false,
      shareTakenAt: false,
    });
    const shared = (await graphql(server.baseUrl, share, { id, t: true }, alice)).body.data!.setImageSharing;
    assert.deepEqual(shared, { shareLocation: false, shareTakenAt: true, takenAt: '2021-06-15T13:45:30.000Z' });
    assert.deepEqual((await graphql(server.baseUrl, query, { id }, null)).body.data!.image, {
      takenAt: '2021-06-15T13:45:30.000Z',
      hasGps: null,
      shareLocation: false,
      shareTakenAt: true,
    });
    await graphql(server.baseUrl, share, { id, l: true }, alice);
    assert.equal((await graphql(server.baseUrl, query, { id }, bob)).body.data!.image.hasGps, true);
  });

  test('updatePostCaption: the author only (FORBIDDEN for others, NOT_FOUND unknown)', async () => {
    const [alice, bob] = [await signUpAndLogIn(server.baseUrl, 'gqcap'), await signUpAndLogIn(server.baseUrl, 'gqcap')];
    const { id } = await post(alice, 'before');
    const mutation = `mutation ($id: ID!, $caption: String!) { updatePostCaption(id: $id, caption: $caption) { id caption } }`;
    assert.deepEqual((await graphql(server.baseUrl, mutation, { id, caption: 'after' }, alice)).body.data!.updatePostCaption, { id, caption: 'after' });
    assert.equal(onlyError((await graphql(server.baseUrl, mutation, { id, caption: 'mine now' }, bob)).body).code, 'FORBIDDEN');
    assert.equal(onlyError((await graphql(server.baseUrl, mutation, { id: 'nope', caption: 'x' }, alice)).body).code, 'NOT_FOUND');
    assert.equal(onlyError((await graphql(server.baseUrl, mutation, { id, caption: 'x' }, null)).body).code, 'UNAUTHENTICATED');
  });

  test('changePassword ends the other sessions; deleteAccount removes the account and its content', async () => {
    const [alice, bob] = [await signUpAndLogIn(server.baseUrl, 'gqpw'), await signUpAndLogIn(server.baseUrl, 'gqpw')];
    const other = (await (await postJson(server.baseUrl, '/sessions', { username: alice.username, password: alice.password })).json()) as { token: string };
    const change = `mutation ($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`;
    assert.equal(onlyError((await graphql(server.baseUrl, change, { c: 'wrong password', n: 'a new long password' }, alice)).body).errorCode, 'WRONG_PASSWORD');
    assert.equal((await graphql(server.baseUrl, change, { c: alice.password, n: 'a new long password' }, alice)).body.data!.changePassword, true);
    const revoked = await graphql(server.baseUrl, '{ me { id } }', {}, null, { authorization: `Bearer ${other.token}` });
    assert.equal(revoked.body.data!.me, null);

    const { id: postId } = await post(alice, 'goes');
    const bobs = await post(bob, 'stays');
    await addComment(server.baseUrl, alice, bobs.id, 'goes too');
    const remove = `mutation ($p: String!) { deleteAccount(password: $p) }`;
    assert.equal(onlyError((await graphql(server.baseUrl, remove, { p: alice.password }, alice)).body).errorCode, 'WRONG_PASSWORD');
    assert.equal((await graphql(server.baseUrl, remove, { p: 'a new long password' }, alice)).body.data!.deleteAccount, true);
    assert.equal((await graphql(server.baseUrl, '{ me { id } }', {}, alice)).body.data!.me, null);
    const after = await graphql(
      server.baseUrl,
      `query ($a: ID!, $b: ID!) { a: post(id: $a) { id } b: post(id: $b) { commentCount } }`,
      { a: postId, b: bobs.id },
      bob,
    );
    assert.deepEqual(after.body.data, { a: null, b: { commentCount: 0 } });
  });
});
