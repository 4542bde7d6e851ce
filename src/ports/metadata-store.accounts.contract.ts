import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { isAppError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import {
  aComment,
  addComment,
  anEvent,
  anIdempotencyRecord,
  anImage,
  aPost,
  aSession,
  aUser,
  type ContractScope,
  expectedView,
  publishPosts,
} from './metadata-store.support.contract.js';
import { anUpload } from './metadata-store.uploads.contract.js';

const later = 2_000_000_000_000;

/** The contract of the per-user listings and the account-wide writes (password, deletion). */
export function accountsContract(scope: ContractScope): void {
  describe('per-user listings', () => {
    test("listByOwner: the owner's images only, newest first, paged by id", async () => {
      const { store } = scope;
      const [alice, bob] = [aUser(), aUser()];
      const mine = [1, 2, 3].map(() => anImage(alice.id, { id: newId() }));
      const theirs = anImage(bob.id, { id: newId() });
      await store.transaction(async (tx) => {
        await tx.users.insert(alice);
        await tx.users.insert(bob);
        for (const image of [...mine, theirs]) await tx.images.insertOrGetExisting(image);
      });
      const [oldest, middle, newest] = mine;
      assert.deepEqual(await store.images.listByOwner(alice.id, null, 2), [newest, middle]);
      assert.deepEqual(await store.images.listByOwner(alice.id, middle!.id, 2), [oldest]);
      assert.deepEqual(await store.images.listByOwner(alice.id, oldest!.id, 2), []);
      assert.deepEqual(await store.images.listByOwner(bob.id, null, 10), [theirs]);
      assert.deepEqual(await store.images.listByOwner(randomUUID(), null, 10), []);
    });

    test("listByAuthor: the author's post views only, newest first whatever their comments, paged by id", async () => {
      const { store } = scope;
      const { author, images, posts } = await publishPosts(store, [5, 0, 2]);
      const other = await publishPosts(store, [1]);
      const views = posts.map((post, i) => expectedView(post, author, images[i]!, []));
      assert.deepEqual(await store.posts.listByAuthor(author.id, null, 2), [views[2], views[1]]);
      assert.deepEqual(await store.posts.listByAuthor(author.id, posts[1]!.id, 2), [views[0]]);
      assert.deepEqual(await store.posts.listByAuthor(other.author.id, null, 10), [expectedView(other.posts[0]!, other.author, other.images[0]!, [])]);
      assert.deepEqual(await store.posts.listByAuthor(randomUUID(), null, 10), []);
    });

    test('setCaption replaces the caption only; false for an unknown post', async () => {
      const { store } = scope;
      const { posts } = await publishPosts(store, [0]);
      assert.equal(await store.posts.setCaption(posts[0]!.id, 'new words ✓'), true);
      assert.deepEqual(await store.posts.findById(posts[0]!.id), { ...posts[0], caption: 'new words ✓' });
      assert.equal(await store.posts.setCaption(randomUUID(), 'x'), false);
    });
  });

  describe('account-wide writes', () => {
    test("setPasswordHash replaces the hash; deleteByUser ends the user's other sessions only", async () => {
      const { store } = scope;
      const [alice, bob] = [aUser(), aUser()];
      const [kept, ended, endedToo] = [1, 2, 3].map(() => aSession(alice.id, later));
      const bobs = aSession(bob.id, later);
      await store.transaction(async (tx) => {
        await tx.users.insert(alice);
        await tx.users.insert(bob);
        for (const session of [kept!, ended!, endedToo!, bobs]) await tx.sessions.insert(session);
      });
      assert.equal(await store.users.setPasswordHash(alice.id, '$argon2id$new'), true);
      assert.equal((await store.users.findById(alice.id))?.passwordHash, '$argon2id$new');
      assert.equal(await store.users.setPasswordHash(randomUUID(), 'x'), false);
      assert.equal(await store.sessions.deleteByUser(alice.id, kept!.tokenHash), 2);
      assert.ok(await store.sessions.findActive(kept!.tokenHash, 0));
      assert.equal(await store.sessions.findActive(ended!.tokenHash, 0), null);
      assert.ok(await store.sessions.findActive(bobs.tokenHash, 0));
      assert.equal(await store.sessions.deleteByUser(alice.id, null), 1);
      assert.equal(await store.sessions.findActive(kept!.tokenHash, 0), null);
    });

    test("deleting a user's content: comments report their posts, posts take everyone's comments, images mark blobs unreferenced, then the user goes", async () => {
      const { store } = scope;
      const { author: alice, images: aliceImages, posts: alicePosts } = await publishPosts(store, [0]);
      const { author: bob, posts: bobPosts } = await publishPosts(store, [0, 0]);
      const spare = anImage(alice.id, { status: 'ready' });
      const bobsOnAlices = aComment(alicePosts[0]!.id, bob.id);
      const alicesOnBobs = [aComment(bobPosts[0]!.id, alice.id), aComment(bobPosts[0]!.id, alice.id), aComment(bobPosts[1]!.id, alice.id)];
      const session = aSession(alice.id, later);
      await store.transaction(async (tx) => {
        await tx.images.insertOrGetExisting(spare);
        await tx.sessions.insert(session);
        for (const comment of [bobsOnAlices, ...alicesOnBobs]) await addComment(tx, comment);
        await tx.collections.insert({ id: newId(), ownerId: alice.id, name: 'Mine', createdAt: 1 });
      });

      // While her post shows it, her images cannot go; nor can she.
      await assert.rejects(
        store.transaction((tx) => tx.images.deleteByOwner(alice.id, later)),
        (e) => isAppError(e, 'IMAGE_IN_USE'),
      );
      await assert.rejects(store.transaction((tx) => tx.users.delete(alice.id)));

      const removed = await store.transaction(async (tx) => {
        const fromPosts = await tx.comments.deleteByAuthor(alice.id);
        const posts = await tx.posts.deleteByAuthor(alice.id);
        const collections = await tx.collections.deleteByOwner(alice.id);
        const images = await tx.images.deleteByOwner(alice.id, later);
        const user = await tx.users.delete(alice.id);
        return { fromPosts, posts, collections, images, user };
      });
      assert.deepEqual(
        [...removed.fromPosts].sort((a, b) => a.postId.localeCompare(b.postId)),
        [
          { postId: bobPosts[0]!.id, removed: 2 },
          { postId: bobPosts[1]!.id, removed: 1 },
        ].sort((a, b) => a.postId.localeCompare(b.postId)),
      );
      assert.deepEqual({ ...removed, fromPosts: undefined }, { fromPosts: undefined, posts: 1, collections: 1, images: 2, user: true });
      assert.equal(await store.users.findById(alice.id), null);
      assert.equal(await store.sessions.findActive(session.tokenHash, 0), null);
      assert.equal(await store.posts.findById(alicePosts[0]!.id), null);
      assert.equal(await store.comments.findById(bobsOnAlices.id), null);
      for (const comment of alicesOnBobs) assert.equal(await store.comments.findById(comment.id), null);
      assert.equal(await store.images.findById(spare.id), null);
      assert.deepEqual(await store.collections.listByOwner(alice.id, null, 10), []);
      for (const image of [aliceImages[0]!, spare]) assert.equal((await store.blobRecords.find(image.sha256))?.unreferencedSince, later);
      // Bob's things are untouched.
      assert.ok(await store.users.findById(bob.id));
      assert.equal((await store.posts.listByAuthor(bob.id, null, 10)).length, 2);
      assert.equal(await store.users.delete(alice.id), false);
      assert.equal(await store.comments.deleteByAuthor(alice.id).then((r) => r.length), 0);
    });

    test("deleteByOwner keeps a blob referenced while another owner's image still has it", async () => {
      const { store } = scope;
      const [alice, bob] = [aUser(), aUser()];
      const shared = anImage(alice.id, { status: 'ready' });
      const bobsCopy = anImage(bob.id, { sha256: shared.sha256, status: 'ready' });
      await store.transaction(async (tx) => {
        await tx.users.insert(alice);
        await tx.users.insert(bob);
        await tx.images.insertOrGetExisting(shared);
        await tx.images.insertOrGetExisting(bobsCopy);
      });
      assert.equal(await store.images.deleteByOwner(alice.id, later), 1);
      assert.equal((await store.blobRecords.find(shared.sha256))?.unreferencedSince, null);
      assert.ok(await store.images.findById(bobsCopy.id));
    });
  });

  describe('image sharing', () => {
    test('setSharing changes only the choices given and returns the image; null for an unknown id', async () => {
      const { store } = scope;
      const owner = aUser();
      await store.users.insert(owner);
      const image = anImage(owner.id);
      await store.images.insertOrGetExisting(image);
      assert.deepEqual(await store.images.setSharing(image.id, { location: true }), { ...image, sharesLocation: true });
      assert.deepEqual(await store.images.setSharing(image.id, { takenAt: true, location: false }), { ...image, sharesTakenAt: true });
      assert.deepEqual(await store.images.setSharing(image.id, {}), { ...image, sharesTakenAt: true });
      assert.deepEqual(await store.images.findById(image.id), { ...image, sharesTakenAt: true });
      assert.equal(await store.images.setSharing(randomUUID(), { location: true }), null);
    });
  });

  // A request's session is checked when it starts; the account may be deleted before its write
  // runs. Each write naming a user that is gone is refused as UNAUTHENTICATED (the caller's 401),
  // never a raw foreign-key error (a 500), and writes nothing.
  describe('writes by an account that no longer exists', () => {
    test('every insert naming the gone user is UNAUTHENTICATED', async () => {
      const { store } = scope;
      const { author, posts } = await publishPosts(store, [0]);
      const gone = aUser();
      await store.users.insert(gone);
      assert.equal(await store.users.delete(gone.id), true);
      const unauthenticated = (error: unknown) => isAppError(error, 'UNAUTHENTICATED');
      const livePost = posts[0]!;
      const liveImage = anImage(author.id);
      await store.images.insertOrGetExisting(liveImage);

      await assert.rejects(store.sessions.insert(aSession(gone.id, later)), unauthenticated);
      await assert.rejects(store.images.insertOrGetExisting(anImage(gone.id)), unauthenticated);
      await assert.rejects(
        store.transaction((tx) => tx.images.insertOrGetExisting(anImage(gone.id))),
        unauthenticated,
      );
      await assert.rejects(store.posts.add(aPost(gone.id, liveImage.id), anEvent(liveImage.id)), unauthenticated);
      await assert.rejects(store.comments.add(aComment(livePost.id, gone.id), anEvent(livePost.id)), unauthenticated);
      await assert.rejects(store.collections.insert({ id: newId(), ownerId: gone.id, name: 'gone', createdAt: later }), unauthenticated);
      await assert.rejects(store.uploads.insert(anUpload(gone.id)), unauthenticated);
      await assert.rejects(store.idempotency.claim(anIdempotencyRecord(gone.id), later), unauthenticated);
      const entry = {
        ownerId: gone.id,
        path: '/gone.jpg',
        size: 1,
        modifiedAt: later,
        outcome: 'rejected' as const,
        imageId: null,
        detail: null,
        recordedAt: later,
      };
      await assert.rejects(store.importLedger.record(entry), unauthenticated);

      // Nothing was written: the post keeps its count, the live image has no post.
      assert.equal((await store.posts.findById(livePost.id))?.commentCount, 0);
      assert.equal(await store.posts.countByImage(liveImage.id), 0);
      assert.deepEqual(await store.images.listByOwner(gone.id, null, 10), []);
    });
  });
}
