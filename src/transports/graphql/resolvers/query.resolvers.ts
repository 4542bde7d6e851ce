import { toPublicUser } from '../../../core/users/user.js';
import type { GraphqlContext } from '../context.js';
import { connectionOf } from './connections.js';

interface PageArgs {
  first: number;
  after?: string | null;
}

/** Root queries: single items by id (null when absent, batched through the loaders), pages, the viewer. */
export const queryResolvers = {
  me: async (_root: unknown, _args: unknown, { viewer }: GraphqlContext) => {
    const user = await viewer();
    return user && toPublicUser(user);
  },
  image: (_root: unknown, { id }: { id: string }, { loaders }: GraphqlContext) => loaders.images.load(id),
  collection: (_root: unknown, { id }: { id: string }, { loaders }: GraphqlContext) => loaders.collections.load(id),
  post: (_root: unknown, { id }: { id: string }, { loaders }: GraphqlContext) => loaders.posts.load(id),

  collections: async (_root: unknown, { first, after }: PageArgs, { services, requireViewer }: GraphqlContext) => {
    const page = await services.collections.listMine(await requireViewer(), after ?? null, first);
    return connectionOf(page.collections, page.nextCursor, (c) => services.collections.cursorOf(c));
  },

  posts: async (_root: unknown, { first, after }: PageArgs, { services }: GraphqlContext) => {
    const page = await services.feed.page(after ?? null, first);
    return connectionOf(page.posts, page.nextCursor, (post) => services.feed.cursorOf(post));
  },
};
