import DataLoader from 'dataloader';
import type { Services } from '../../app.js';
import type { Collection } from '../../core/collections/collection.js';
import type { SeenImage } from '../../core/images/image-visibility.js';
import type { CommentPage } from '../../core/posts/comment-service.js';
import type { PostView } from '../../core/posts/post.js';
import type { PublicUser, User } from '../../core/users/user.js';

/**
 * Per-request batching (no N+1): every `load` made while one level of the query resolves
 * becomes one service call, hence a constant number of SQL queries per level whatever the page
 * size. Created per request, so nothing cached outlives it and each viewer sees only what the
 * services let them see. The services, not these loaders, decide visibility.
 */
export function createLoaders(services: Services, viewer: () => Promise<User | null>) {
  const byId = <T extends { id: string }>(load: (ids: readonly string[]) => Promise<T[]>) =>
    new DataLoader<string, T | null>(async (ids) => {
      const found = new Map((await load(ids)).map((item) => [item.id, item]));
      return ids.map((id) => found.get(id) ?? null);
    });
  const grouped = <T>(load: (ids: readonly string[]) => Promise<Map<string, T[]>>) =>
    new DataLoader<string, T[]>(async (ids) => {
      const found = await load(ids);
      return ids.map((id) => found.get(id) ?? []);
    });

  return {
    users: byId<PublicUser>((ids) => services.accounts.publicUsers(ids)),
    images: byId<SeenImage>(async (ids) => services.images.getMany(ids, await viewer())),
    posts: byId<PostView>((ids) => services.posts.getMany(ids)),
    collections: byId<Collection>((ids) => services.collections.getMany(ids)),
    imagesOfCollection: grouped<SeenImage>(async (ids) => services.collections.imagesOf(ids, await viewer())),
    collectionsOfImage: grouped<Collection>((ids) => services.collections.collectionsOf(ids)),
    /** First pages of posts' comments; one query per distinct page size asked for. */
    firstComments: new DataLoader<{ postId: string; first: number }, CommentPage, string>(
      async (keys) => {
        const pages = new Map<number, Map<string, CommentPage>>();
        for (const first of new Set(keys.map((key) => key.first))) {
          const postIds = keys.filter((key) => key.first === first).map((key) => key.postId);
          pages.set(first, await services.comments.firstPages(postIds, first));
        }
        return keys.map((key) => pages.get(key.first)?.get(key.postId) ?? { comments: [], nextCursor: null });
      },
      { cacheKeyFn: (key) => `${key.first}:${key.postId}` },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
