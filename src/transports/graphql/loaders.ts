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
export function createLoaders(services: Services, viewer: () => Promise<User | null>): Loaders {
  return new Loaders(services, viewer);
}

/**
 * The loaders of one request, each made on first use: most requests use one or none (the feed
 * reads everything from one page query), and seven DataLoaders with their caches per request are
 * garbage the feed would pay for on every request.
 */
export class Loaders {
  #users?: DataLoader<string, PublicUser | null>;
  #images?: DataLoader<string, SeenImage | null>;
  #posts?: DataLoader<string, PostView | null>;
  #collections?: DataLoader<string, Collection | null>;
  #imagesOfCollection?: DataLoader<string, SeenImage[]>;
  #collectionsOfImage?: DataLoader<string, Collection[]>;
  #firstComments?: DataLoader<{ postId: string; first: number }, CommentPage, string>;

  constructor(
    private readonly services: Services,
    private readonly viewer: () => Promise<User | null>,
  ) {}

  get users(): DataLoader<string, PublicUser | null> {
    return (this.#users ??= byId((ids) => this.services.accounts.publicUsers(ids)));
  }

  get images(): DataLoader<string, SeenImage | null> {
    return (this.#images ??= byId(async (ids) => this.services.images.getMany(ids, await this.viewer())));
  }

  get posts(): DataLoader<string, PostView | null> {
    return (this.#posts ??= byId((ids) => this.services.posts.getMany(ids)));
  }

  get collections(): DataLoader<string, Collection | null> {
    return (this.#collections ??= byId((ids) => this.services.collections.getMany(ids)));
  }

  get imagesOfCollection(): DataLoader<string, SeenImage[]> {
    return (this.#imagesOfCollection ??= grouped(async (ids) => this.services.collections.imagesOf(ids, await this.viewer())));
  }

  get collectionsOfImage(): DataLoader<string, Collection[]> {
    return (this.#collectionsOfImage ??= grouped((ids) => this.services.collections.collectionsOf(ids)));
  }

  /** First pages of posts' comments; one query per distinct page size asked for. */
  get firstComments(): DataLoader<{ postId: string; first: number }, CommentPage, string> {
    return (this.#firstComments ??= new DataLoader<{ postId: string; first: number }, CommentPage, string>(
      async (keys) => {
        const pages = new Map<number, Map<string, CommentPage>>();
        for (const first of new Set(keys.map((key) => key.first))) {
          const postIds = keys.filter((key) => key.first === first).map((key) => key.postId);
          pages.set(first, await this.services.comments.firstPages(postIds, first));
        }
        return keys.map((key) => pages.get(key.first)?.get(key.postId) ?? { comments: [], nextCursor: null });
      },
      { cacheKeyFn: (key) => `${key.first}:${key.postId}` },
    ));
  }
}

function byId<T extends { id: string }>(load: (ids: readonly string[]) => Promise<T[]>): DataLoader<string, T | null> {
  return new DataLoader<string, T | null>(async (ids) => {
    const found = new Map((await load(ids)).map((item) => [item.id, item]));
    return ids.map((id) => found.get(id) ?? null);
  });
}

function grouped<T>(load: (ids: readonly string[]) => Promise<Map<string, T[]>>): DataLoader<string, T[]> {
  return new DataLoader<string, T[]>(async (ids) => {
    const found = await load(ids);
    return ids.map((id) => found.get(id) ?? []);
  });
}
