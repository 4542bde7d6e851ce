import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MetadataStore } from '../../ports/metadata-store.js';
import { aComment, anEvent, anImage, aPost, publishPosts } from '../../ports/metadata-store.support.contract.js';
import { openSqliteMetadataStore } from './sqlite.js';

// The embedded store knows the exact feed version each of its comments' bumps made, so a cached
// page no comment touched can be kept (FeedService.unchangedSince). Wrong here means a stale page.

describe('SQLite store: the moves of its own comments, by version', () => {
  let dir: string;
  let files = 0;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'imagegram-feed-moves-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  async function openMigrated(file = join(dir, `store-${++files}.sqlite`)): Promise<{ file: string; store: MetadataStore }> {
    const store = openSqliteMetadataStore(file);
    await store.migrate();
    return { file, store };
  }

  const moves = (store: MetadataStore, from: number, to: number) => store.feedChanges.movesBetween?.(from, to);

  test('concurrent comments (shared commits) each record their move under the version they made', async () => {
    const { store } = await openMigrated();
    const { author, posts } = await publishPosts(store, [0, 5, 2]);
    const from = await store.feed.version();
    const targets = [0, 1, 1, 2, 0, 1, 2, 2, 2, 1].map((i) => posts[i]!);
    await Promise.all(targets.map((post) => store.comments.add(aComment(post.id, author.id), anEvent(post.id))));
    const to = await store.feed.version();
    assert.equal(to - from, targets.length);
    const recorded = moves(store, from, to);
    assert.ok(recorded, 'every bump is a known move');
    assert.equal(recorded.length, targets.length);
    // In version order, each post climbs one count at a time from where it stood.
    const counts = new Map(posts.map((post) => [post.id, post.commentCount]));
    for (const move of recorded) {
      const before = counts.get(move.postId);
      assert.deepEqual(move.from, { commentCount: before, id: move.postId });
      assert.deepEqual(move.to, { commentCount: (before ?? 0) + 1, id: move.postId });
      counts.set(move.postId, (before ?? 0) + 1);
    }
    for (const post of posts) assert.equal((await store.posts.findById(post.id))?.commentCount, counts.get(post.id));
    await store.close();
  });

  test('a comment whose transaction rolled back records nothing; the batch around it still does', async () => {
    const { store } = await openMigrated();
    const { author, posts } = await publishPosts(store, [1, 1]);
    const from = await store.feed.version();
    // Last in its batch, so no later comment takes over the version it rolled back.
    const [kept, alsoKept, failed] = await Promise.allSettled([
      store.comments.add(aComment(posts[0]!.id, author.id), anEvent(posts[0]!.id)),
      store.comments.add(aComment(posts[0]!.id, author.id), anEvent(posts[0]!.id)),
      store.transaction(async (tx) => {
        await tx.comments.add(aComment(posts[1]!.id, author.id), anEvent(posts[1]!.id));
        throw new Error('the work fails after its comment');
      }),
    ]);
    assert.equal(kept.status, 'fulfilled');
    assert.equal(alsoKept.status, 'fulfilled');
    assert.equal(failed.status, 'rejected');
    const to = await store.feed.version();
    assert.equal(to - from, 2);
    assert.deepEqual(
      moves(store, from, to)?.map((move) => [move.postId, move.from.commentCount, move.to.commentCount]),
      [
        [posts[0]!.id, 1, 2],
        [posts[0]!.id, 2, 3],
      ],
    );
    // The next bump takes the rolled-back one's version; it is not a comment, so: unknown.
    const image = anImage(author.id, { status: 'ready' });
    await store.images.insertOrGetExisting(image);
    await store.posts.add(aPost(author.id, image.id), anEvent(image.id));
    assert.equal(await store.feed.version(), to + 1);
    assert.equal(moves(store, to, to + 1), undefined);
    await store.close();
  });

  test('a bump that is not a comment (a new post) leaves a gap: nothing across it is known', async () => {
    const { store } = await openMigrated();
    const { author, posts } = await publishPosts(store, [0]);
    const comment = () => store.comments.add(aComment(posts[0]!.id, author.id), anEvent(posts[0]!.id));
    const start = await store.feed.version();
    await comment();
    const beforePost = await store.feed.version();
    const image = anImage(author.id, { status: 'ready' });
    await store.images.insertOrGetExisting(image);
    assert.equal(await store.posts.add(aPost(author.id, image.id), anEvent(image.id)), true);
    const afterPost = await store.feed.version();
    await comment();
    const end = await store.feed.version();
    assert.equal(moves(store, start, beforePost)?.length, 1);
    assert.equal(moves(store, afterPost, end)?.length, 1);
    assert.equal(moves(store, beforePost, afterPost), undefined);
    assert.equal(moves(store, start, end), undefined);
    assert.deepEqual(moves(store, end, end), []);
    await store.close();
  });

  test("another connection's comment is not this store's to know: a gap", async () => {
    const { file, store } = await openMigrated();
    const other = openSqliteMetadataStore(file);
    const { author, posts } = await publishPosts(store, [0]);
    const comment = (on: MetadataStore) => on.comments.add(aComment(posts[0]!.id, author.id), anEvent(posts[0]!.id));
    const start = await store.feed.version();
    await comment(store);
    await comment(other);
    await comment(store);
    const end = await store.feed.version();
    assert.equal(end - start, 3);
    assert.equal(moves(store, start, start + 1)?.length, 1);
    assert.equal(moves(store, start + 1, start + 2), undefined);
    assert.equal(moves(store, start + 2, end)?.length, 1);
    assert.equal(moves(store, start, end), undefined);
    await other.close();
    await store.close();
  });
});
