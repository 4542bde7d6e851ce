import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openSqliteMetadataStore } from '../adapters/metadata/sqlite.js';
import { FeedService } from '../core/posts/feed-service.js';
import { OpaqueCursor } from '../core/posts/opaque-cursor.js';
import type { MetadataStore } from '../ports/metadata-store.js';
import { aComment, anEvent, publishPosts } from '../ports/metadata-store.support.contract.js';
import { RecentFeedPages } from './recent-feed-pages.js';

// On the embedded store, with real comments: a page is reused exactly when no comment since its
// rendering touched it (the REST feed e2e suite checks the bytes served against the posts).

describe('RecentFeedPages on the embedded store', () => {
  let dir: string;
  let store: MetadataStore;
  let feed: FeedService;
  let posts: { id: string }[];
  let authorId: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-recent-pages-'));
    store = openSqliteMetadataStore(join(dir, 'store.sqlite'));
    await store.migrate();
    feed = new FeedService(store, new OpaqueCursor('a secret shared by the deployment'));
    // Feed order: 9, 8, 7, 6, then 5 posts with none.
    const published = await publishPosts(store, [9, 8, 7, 6, 0, 0, 0, 0, 0]);
    posts = published.posts;
    authorId = published.author.id;
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const comment = (post: { id: string }) => store.comments.add(aComment(post.id, authorId), anEvent(post.id));

  /** Renders `cursor`'s page (limit 2) as the route does and remembers it; returns its body. */
  async function render(pages: RecentFeedPages, cursor: string | null): Promise<{ body: string; nextCursor: string | null }> {
    const version = await feed.version();
    const page = await feed.page(cursor, 2);
    const body = JSON.stringify(page.posts.map((post) => [post.id, post.commentCount]));
    pages.remember(`2:${cursor ?? ''}`, version, [page.span], body);
    return { body, nextCursor: page.nextCursor };
  }

  test('the first page survives comments below it, and not one on its own post', async () => {
    const pages = new RecentFeedPages(feed);
    const { body } = await render(pages, null);
    await comment(posts[8]!);
    await comment(posts[3]!);
    assert.equal(pages.reuse('2:', await feed.version()), body, 'two comments below the page: the same body');
    await comment(posts[1]!);
    assert.equal(pages.reuse('2:', await feed.version()), undefined, 'a comment on its second post');
    assert.notEqual((await render(pages, null)).body, body);
  });

  test('the second page is dropped when a post climbs into it, and kept once it climbed past', async () => {
    const pages = new RecentFeedPages(feed);
    const first = await render(pages, null);
    const { body } = await render(pages, first.nextCursor);
    const second = `2:${first.nextCursor}`;
    // The page holds the two posts at 7; posts[4] (0) climbs: at 6 it is still below them, at 7
    // it ties posts[2] and, being newer, comes before it.
    const climber = posts[4]!;
    for (let count = 1; count <= 6; count++) await comment(climber);
    assert.equal(pages.reuse(second, await feed.version()), body);
    await comment(climber);
    assert.equal(pages.reuse(second, await feed.version()), undefined);
  });

  test('a bump that is not a known move is never reused across', async () => {
    const pages = new RecentFeedPages(feed);
    await render(pages, null);
    await comment(posts[5]!);
    // As a caption edit or a delete does: a bump with no move recorded.
    await store.transaction((tx) => tx.feed.bump());
    assert.equal(pages.reuse('2:', await feed.version()), undefined);
  });
});
