import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Comment, Post } from '../core/posts/post.js';
import type { FeedChanges } from './metadata-store.js';
import {
  aComment,
  addComment,
  anEvent,
  anImage,
  aPost,
  aUser,
  commentView,
  type ContractScope,
  expectedView,
  publishPosts,
} from './metadata-store.support.contract.js';
import { feedContract } from './metadata-store.feed.contract.js';
import { isAppError } from '../core/errors.js';

/** The contract of `posts` and `comments` (see their doc comments in metadata-store.ts). */
export function postsContract(scope: ContractScope): void {
  describe('posts', () => {
    test('a post is read back field for field; countByImage counts the posts showing it', async () => {
      const { store } = scope;
      const { posts, images } = await publishPosts(store, [0, 3]);
      assert.deepEqual(await store.posts.findById(posts[0]!.id), posts[0]);
      assert.deepEqual(await store.posts.findById(posts[1]!.id), posts[1]);
      assert.equal(await store.posts.findById(randomUUID()), null);
      assert.equal(await store.posts.countByImage(images[0]!.id), 1);
      assert.equal(await store.posts.countByImage(randomUUID()), 0);
    });

    test('an image a post shows cannot be deleted: IMAGE_IN_USE, and the row stays', async () => {
      const { store } = scope;
      const { images } = await publishPosts(store, [0]);
      await assert.rejects(store.images.delete(images[0]!.id), (error: unknown) => isAppError(error, 'IMAGE_IN_USE'));
      assert.ok(await store.images.findById(images[0]!.id));
    });

    test('findViews: author, image, last 2 comments newest first, in the order asked', async () => {
      const { store } = scope;
      const { author, images, posts } = await publishPosts(store, [0, 0, 0]);
      const [busy, quiet, silent] = posts as [Post, Post, Post];
      const commenter = aUser();
      const onBusy = [1, 2, 3].map(() => aComment(busy.id, commenter.id));
      const onQuiet = aComment(quiet.id, author.id);
      await store.transaction(async (tx) => {
        await tx.users.insert(commenter);
        for (const comment of [...onBusy, onQuiet]) await addComment(tx, comment);
      });
      const views = await store.posts.findViews([silent.id, randomUUID(), busy.id, quiet.id]);
      assert.deepEqual(views, [
        expectedView(silent, author, images[2]!, []),
        expectedView({ ...busy, commentCount: 3 }, author, images[0]!, [commentView(onBusy[2]!, commenter), commentView(onBusy[1]!, commenter)]),
        expectedView({ ...quiet, commentCount: 1 }, author, images[1]!, [commentView(onQuiet, author)]),
      ]);
      assert.deepEqual(await store.posts.findViews([]), []);
    });

    test('delete removes the post and its comments, and reports whether it existed', async () => {
      const { store } = scope;
      const { author, posts } = await publishPosts(store, [0, 0]);
      const [doomed, kept] = posts as [Post, Post];
      const comments = [aComment(doomed.id, author.id), aComment(doomed.id, author.id)];
      const survivor = aComment(kept.id, author.id);
      await store.transaction(async (tx) => {
        for (const comment of [...comments, survivor]) await addComment(tx, comment);
      });
      assert.equal(await store.posts.delete(doomed.id), true);
      assert.equal(await store.posts.findById(doomed.id), null);
      assert.equal(await store.comments.countByPost(doomed.id), 0);
      for (const comment of comments) assert.equal(await store.comments.findById(comment.id), null);
      assert.deepEqual(await store.comments.findById(survivor.id), survivor);
      assert.equal(await store.posts.delete(doomed.id), false);
    });

    test('add: post, feed version and event commit together; a missing image: false, nothing written', async () => {
      const { store } = scope;
      const author = aUser();
      const image = anImage(author.id, { status: 'ready' });
      await store.transaction(async (tx) => {
        await tx.users.insert(author);
        await tx.images.insertOrGetExisting(image);
      });
      const post = aPost(author.id, image.id);
      const version = await store.feed.version();
      const lastEvent = await store.events.lastPosition();
      const event = { type: 'PostCreated', actorId: author.id, subjectId: post.id, payload: { imageId: image.id } } as const;
      assert.equal(await store.posts.add(post, event), true);
      assert.deepEqual(await store.posts.findById(post.id), post);
      assert.equal(await store.feed.version(), version + 1);
      const logged = await store.events.list(lastEvent, 10);
      assert.deepEqual(
        logged.map(({ type, actorId, subjectId, payload }) => ({ type, actorId, subjectId, payload })),
        [event],
      );

      const orphan = aPost(author.id, randomUUID());
      assert.equal(await store.posts.add(orphan, { ...event, subjectId: orphan.id }), false);
      assert.equal(await store.posts.findById(orphan.id), null);
      assert.equal(await store.feed.version(), version + 1);
      assert.equal(await store.events.lastPosition(), logged[0]!.position);
    });

    test('adjustCommentCount adds the delta and reports whether the post exists', async () => {
      const { store } = scope;
      const { posts } = await publishPosts(store, [4]);
      const post = posts[0]!;
      assert.equal(await store.posts.adjustCommentCount(post.id, +1), true);
      assert.equal(await store.posts.adjustCommentCount(post.id, +1), true);
      assert.equal(await store.posts.adjustCommentCount(post.id, -1), true);
      assert.equal((await store.posts.findById(post.id))?.commentCount, 5);
      assert.equal(await store.posts.adjustCommentCount(randomUUID(), +1), false);
    });

    test('50 concurrent transactions adding a comment each: commentCount is the real count', async () => {
      const { store } = scope;
      const { author, posts } = await publishPosts(store, [0]);
      const post = posts[0]!;
      await Promise.all(
        Array.from({ length: 50 }, () =>
          store.transaction(async (tx) => {
            await addComment(tx, aComment(post.id, author.id));
            await tx.feed.bump();
          }),
        ),
      );
      assert.equal(await store.comments.countByPost(post.id), 50);
      assert.equal((await store.posts.findById(post.id))?.commentCount, 50);
    });

    test('a storm of concurrent adds and racing deletes keeps commentCount exact', async () => {
      const { store } = scope;
      const { author, posts } = await publishPosts(store, [0]);
      const post = posts[0]!;
      const existing = Array.from({ length: 30 }, () => aComment(post.id, author.id));
      await store.transaction(async (tx) => {
        for (const comment of existing) await addComment(tx, comment);
      });
      const add = (comment: Comment) =>
        store.transaction(async (tx) => {
          await addComment(tx, comment);
          await tx.feed.bump();
        });
      // The core's delete: only the transaction whose DELETE removed the row moves the count.
      const remove = (id: string) =>
        store.transaction(async (tx) => {
          if (!(await tx.comments.delete(id))) return false;
          await tx.posts.adjustCommentCount(post.id, -1);
          await tx.feed.bump();
          return true;
        });
      const deletions = existing.slice(0, 20).flatMap((c) => [remove(c.id), remove(c.id)]);
      const additions = Array.from({ length: 25 }, () => add(aComment(post.id, author.id)));
      const deleted = await Promise.all(deletions);
      await Promise.all(additions);
      assert.equal(deleted.filter(Boolean).length, 20, 'each comment is deleted exactly once');
      assert.equal(await store.comments.countByPost(post.id), 30 - 20 + 25);
      assert.equal((await store.posts.findById(post.id))?.commentCount, 35);
    });
  });

  feedContract(scope);

  describe('comments', () => {
    test('a comment is read back; delete reports whether it existed', async () => {
      const { store } = scope;
      const { author, posts } = await publishPosts(store, [0]);
      const comment = aComment(posts[0]!.id, author.id, { body: 'ünïcödé 👍' });
      await store.comments.insert(comment);
      assert.deepEqual(await store.comments.findById(comment.id), comment);
      assert.equal(await store.comments.findById(randomUUID()), null);
      assert.equal(await store.comments.delete(comment.id), true);
      assert.equal(await store.comments.findById(comment.id), null);
      assert.equal(await store.comments.delete(comment.id), false);
    });

    test('add: count, comment, feed version and event commit together; absent post: false, nothing written', async () => {
      const { store } = scope;
      const { author, posts } = await publishPosts(store, [0]);
      const post = posts[0]!;
      const comment = aComment(post.id, author.id);
      const version = await store.feed.version();
      const lastEvent = await store.events.lastPosition();
      const event = { type: 'CommentAdded', actorId: author.id, subjectId: comment.id, payload: { postId: post.id } } as const;
      assert.equal(await store.comments.add(comment, event), true);
      assert.deepEqual(await store.comments.findById(comment.id), comment);
      assert.equal((await store.posts.findById(post.id))?.commentCount, 1);
      assert.equal(await store.feed.version(), version + 1);
      const logged = await store.events.list(lastEvent, 10);
      assert.deepEqual(
        logged.map(({ type, actorId, subjectId, payload }) => ({ type, actorId, subjectId, payload })),
        [event],
      );

      const orphan = aComment(randomUUID(), author.id);
      assert.equal(await store.comments.add(orphan, { ...event, subjectId: orphan.id }), false);
      assert.equal(await store.comments.findById(orphan.id), null);
      assert.equal(await store.feed.version(), version + 1);
      assert.equal(await store.events.lastPosition(), logged[0]!.position);
    });

    test('add in a transaction that rolls back leaves nothing behind', async () => {
      const { store } = scope;
      const { author, posts } = await publishPosts(store, [0]);
      const comment = aComment(posts[0]!.id, author.id);
      const version = await store.feed.version();
      const lastEvent = await store.events.lastPosition();
      const rolledBack = store.transaction(async (tx) => {
        assert.equal(await tx.comments.add(comment, anEvent(comment.id)), true);
        throw new Error('undo');
      });
      await assert.rejects(rolledBack, /undo/);
      assert.equal(await store.comments.findById(comment.id), null);
      assert.equal((await store.posts.findById(posts[0]!.id))?.commentCount, 0);
      assert.equal(await store.feed.version(), version);
      assert.equal(await store.events.lastPosition(), lastEvent);
    });

    test('40 concurrent adds on two posts: counts exact, every bump counted, every event logged once', async () => {
      const { store } = scope;
      const { author, posts } = await publishPosts(store, [0, 0]);
      const version = await store.feed.version();
      const lastEvent = await store.events.lastPosition();
      const comments = Array.from({ length: 40 }, (_, i) => aComment(posts[i % 2]!.id, author.id));
      const added = await Promise.all(comments.map((comment) => store.comments.add(comment, anEvent(comment.id))));
      assert.ok(added.every(Boolean));
      for (const post of posts) {
        assert.equal((await store.posts.findById(post.id))?.commentCount, 20);
        assert.equal(await store.comments.countByPost(post.id), 20);
      }
      assert.equal(await store.feed.version(), version + 40);
      const logged = await store.events.list(lastEvent, 100);
      assert.deepEqual(logged.map((e) => e.subjectId).sort(), comments.map((c) => c.id).sort());
    });

    test("listByPost pages a post's comments newest first, with authors", async () => {
      const { store } = scope;
      const { author, posts } = await publishPosts(store, [0, 0]);
      const [post, other] = posts as [Post, Post];
      const reader = aUser();
      await store.users.insert(reader);
      const mine = [author, reader, author, reader, author].map((who) => aComment(post.id, who.id));
      await store.transaction(async (tx) => {
        for (const comment of mine) await addComment(tx, comment);
        await addComment(tx, aComment(other.id, reader.id));
      });
      const views = mine.map((c) => commentView(c, c.authorId === author.id ? author : reader));
      const newestFirst = [...views].reverse();
      assert.deepEqual(await store.comments.listByPost(post.id, null, 2), newestFirst.slice(0, 2));
      assert.deepEqual(await store.comments.listByPost(post.id, mine[3]!.id, 2), newestFirst.slice(2, 4));
      assert.deepEqual(await store.comments.listByPost(post.id, mine[1]!.id, 2), newestFirst.slice(4));
      assert.deepEqual(await store.comments.listByPost(post.id, mine[0]!.id, 2), []);
      assert.deepEqual(await store.comments.listByPost(post.id, null, 100), newestFirst);
      assert.equal(await store.comments.countByPost(post.id), 5);
      assert.equal(await store.comments.countByPost(randomUUID()), 0);
    });

    test("newestOfPosts: each post's newest comments, with authors, newest first", async () => {
      const { store } = scope;
      const { author, posts } = await publishPosts(store, [0, 0, 0]);
      const [busy, quiet, silent] = posts as [Post, Post, Post];
      const onBusy = [1, 2, 3, 4].map(() => aComment(busy.id, author.id));
      const onQuiet = aComment(quiet.id, author.id);
      await store.transaction(async (tx) => {
        for (const comment of [...onBusy, onQuiet]) await addComment(tx, comment);
      });
      const found = await store.comments.newestOfPosts([busy.id, quiet.id, silent.id, randomUUID()], 3);
      const of = (post: Post) => found.filter((c) => c.postId === post.id);
      assert.deepEqual(
        of(busy),
        onBusy
          .slice(1)
          .reverse()
          .map((c) => commentView(c, author)),
      );
      assert.deepEqual(of(quiet), [commentView(onQuiet, author)]);
      assert.deepEqual(of(silent), []);
      assert.deepEqual(await store.comments.newestOfPosts([], 3), []);
    });
  });

  describe('feed version', () => {
    test('bump adds one in its transaction; a rolled-back bump counts for nothing', async () => {
      const { store } = scope;
      const start = await store.feed.version();
      await store.transaction((tx) => tx.feed.bump());
      assert.equal(await store.feed.version(), start + 1);
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.feed.bump();
          throw new Error('abandoned');
        }),
        /abandoned/,
      );
      assert.equal(await store.feed.version(), start + 1);
      await store.feed.bump();
      assert.equal(await store.feed.version(), start + 2);
    });

    test('subscribers hear of every bump before its transaction settles, committed or not', async () => {
      const { store } = scope;
      await untilHeard(store.feedChanges);
      let told = 0;
      const unsubscribe = store.feedChanges.subscribe(() => told++);
      await store.transaction((tx) => tx.feed.bump());
      assert.ok(told >= 1, 'told of a committed transaction');
      told = 0;
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.feed.bump();
          throw new Error('abandoned');
        }),
        /abandoned/,
      );
      assert.ok(told >= 1, 'told of a rolled-back one (it may have committed as far as anyone knows)');
      told = 0;
      await store.feed.bump();
      assert.ok(told >= 1, 'told of a bump on the store');
      unsubscribe();
      told = 0;
      await store.transaction((tx) => tx.feed.bump());
      assert.equal(told, 0, 'not after unsubscribing');
    });

    test('subscribers hear of posts.add and comments.add (they bump) before they settle', async () => {
      const { store } = scope;
      await untilHeard(store.feedChanges);
      const author = aUser();
      const image = anImage(author.id, { status: 'ready' });
      await store.transaction(async (tx) => {
        await tx.users.insert(author);
        await tx.images.insertOrGetExisting(image);
      });
      let told = 0;
      const unsubscribe = store.feedChanges.subscribe(() => told++);
      try {
        const post = aPost(author.id, image.id);
        assert.equal(await store.posts.add(post, anEvent(post.id)), true);
        assert.ok(told >= 1, 'told of posts.add on the store');
        told = 0;
        const comment = aComment(post.id, author.id);
        assert.equal(await store.comments.add(comment, anEvent(comment.id)), true);
        assert.ok(told >= 1, 'told of comments.add on the store');
        told = 0;
        const another = aComment(post.id, author.id);
        await store.transaction((tx) => tx.comments.add(another, anEvent(another.id)));
        assert.ok(told >= 1, 'told of comments.add in a transaction');
      } finally {
        unsubscribe();
      }
    });

    test('20 concurrent bumps are all counted', async () => {
      const { store } = scope;
      const start = await store.feed.version();
      await Promise.all(Array.from({ length: 20 }, () => store.transaction((tx) => tx.feed.bump())));
      assert.equal(await store.feed.version(), start + 20);
    });
  });
}

/** Resolves once `changes` hears other processes (at once where there are none). */
export function untilHeard(changes: FeedChanges): Promise<void> {
  return new Promise((resolve) => {
    if (changes.heard()) return resolve();
    const unsubscribe = changes.subscribe(() => {
      if (!changes.heard()) return;
      unsubscribe();
      resolve();
    });
  });
}
