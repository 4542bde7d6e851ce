import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FeedPosition, Post } from '../core/posts/post.js';
import { aComment, addComment, byFeedOrder, type ContractScope, expectedView, publishPosts } from './metadata-store.support.contract.js';

/** The contract of `posts.feedPage` and the cost of a page (see metadata-store.ts). */
export function feedContract(scope: ContractScope): void {
  describe('feed pages', () => {
    test('posts come by commentCount desc, then newest first, as full views', async () => {
      const { store } = scope;
      const { author, images, posts } = await publishPosts(store, [2, 0, 5, 2, 0, 1]);
      const imageOf = new Map(images.map((image) => [image.id, image]));
      const expected = [...posts].sort(byFeedOrder).map((post) => expectedView(post, author, imageOf.get(post.imageId)!, []));
      assert.deepEqual(await store.posts.feedPage(null, 100), expected);
      assert.deepEqual(await store.posts.feedPage(null, 2), expected.slice(0, 2));
      assert.deepEqual(await store.posts.feedPage(position(expected.at(-1)!), 10), []);
    });

    test('keyset pages over ties concatenate to exactly the full order', async () => {
      const { store } = scope;
      // 45 posts, 15 per count: most page boundaries fall inside a run of equal counts.
      const { posts } = await publishPosts(
        store,
        Array.from({ length: 45 }, (_, i) => (i * 7) % 3),
      );
      const expected = [...posts].sort(byFeedOrder).map((post) => post.id);
      for (const limit of [1, 4, 7, 15, 16, 100]) {
        const seen: string[] = [];
        let after: FeedPosition | null = null;
        for (;;) {
          const page = await store.posts.feedPage(after, limit);
          assert.ok(page.length <= limit);
          if (page.length === 0) break;
          seen.push(...page.map((view) => view.id));
          after = position(page.at(-1)!);
        }
        assert.deepEqual(seen, expected, `pages of ${limit}`);
      }
    });

    test('a page after a position whose post is gone continues where it would have', async () => {
      const { store } = scope;
      const { posts } = await publishPosts(store, [1, 1, 1, 0, 0, 2, 1, 0]);
      const ordered = [...posts].sort(byFeedOrder);
      const gone = ordered[3]!;
      await store.posts.delete(gone.id);
      const page = await store.posts.feedPage(position(gone), 100);
      assert.deepEqual(
        page.map((view) => view.id),
        ordered.slice(4).map((post) => post.id),
      );
    });

    test('each post carries at most its 2 newest comments, newest first', async () => {
      const { store } = scope;
      const { author, posts } = await publishPosts(store, [0, 0, 0]);
      const comments = new Map(
        posts.map((post, i) => {
          const count = [5, 1, 0][i]!;
          return [post.id, Array.from({ length: count }, () => aComment(post.id, author.id))];
        }),
      );
      await store.transaction(async (tx) => {
        for (const list of comments.values()) {
          for (const comment of list) await addComment(tx, comment);
        }
      });
      const page = await store.posts.feedPage(null, 10);
      assert.deepEqual(
        page.map((view) => view.commentCount),
        [5, 1, 0],
      );
      for (const view of page) {
        const newest = comments.get(view.id)!.slice(-2).reverse();
        assert.deepEqual(
          view.lastComments.map((c) => c.id),
          newest.map((c) => c.id),
        );
        for (const comment of view.lastComments) {
          assert.deepEqual(comment.author, { id: author.id, username: author.username });
        }
      }
    });

    test('a page costs the same few queries whatever its size', async (t) => {
      const { store, queries } = scope;
      if (queries === undefined) {
        t.skip('this adapter does not report its queries');
        return;
      }
      const counts = Array.from({ length: 120 }, (_, i) => i % 4);
      const { author, posts } = await publishPosts(store, counts);
      await store.transaction(async (tx) => {
        for (const post of posts.slice(0, 60)) {
          for (let i = 0; i < 3; i++) await addComment(tx, aComment(post.id, author.id));
        }
      });
      const cost = async (read: () => Promise<unknown>) => {
        const before = queries.length;
        await read();
        return queries.length - before;
      };
      const ordered = [...posts].sort(byFeedOrder);
      const ids = ordered.map((post) => post.id);
      const small = await cost(() => store.posts.feedPage(null, 5));
      const large = await cost(() => store.posts.feedPage(null, 100));
      const deep = await cost(() => store.posts.feedPage(position(ordered[10]!), 100));
      const fewViews = await cost(() => store.posts.findViews(ids.slice(0, 5)));
      const manyViews = await cost(() => store.posts.findViews(ids));
      assert.ok(large <= 3, `feedPage(null, 100) ran ${large} queries`);
      assert.ok(manyViews <= 3, `findViews(120 ids) ran ${manyViews} queries`);
      // An adapter may build feed pages in fewer queries than views; each stays constant.
      assert.deepEqual([small, deep, fewViews], [large, large, manyViews]);
    });
  });
}

function position(post: Pick<Post, 'commentCount' | 'id'>): FeedPosition {
  return { commentCount: post.commentCount, id: post.id };
}
