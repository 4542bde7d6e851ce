import { toPublicUser } from '../../../core/users/user.js';
import { builder } from './builder.js';
import { connectionOf, pageSize } from './connections.js';
import { postNode } from './nodes.js';

/** Root queries: single items by id (null when absent, batched through the loaders), pages, the viewer. */
builder.queryType({
  fields: (t) => ({
    me: t.field({
      type: 'User',
      nullable: true,
      description: 'The signed-in user, or null when the request carries no valid session.',
      resolve: async (_root, _args, { viewer }) => {
        const user = await viewer();
        return user && toPublicUser(user);
      },
    }),
    image: t.field({
      type: 'Image',
      nullable: true,
      description: 'An image, or null if there is none with that id.',
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, { id }, { loaders }) => loaders.images.load(id),
    }),
    collection: t.field({
      type: 'Collection',
      nullable: true,
      description: 'A collection, or null if there is none with that id. Collections are public, like their images.',
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, { id }, { loaders }) => loaders.collections.load(id),
    }),
    collections: t.field({
      type: 'CollectionConnection',
      description: "The signed-in user's collections, newest first (UNAUTHENTICATED without a session). first: 1–100.",
      args: { first: t.arg.int({ defaultValue: 20 }), after: t.arg.string() },
      resolve: async (_root, { first, after }, { services, requireViewer }) => {
        const page = await services.collections.listMine(await requireViewer(), after ?? null, pageSize(first));
        return connectionOf(page.collections, page.nextCursor, (collection) => services.collections.cursorOf(collection));
      },
    }),
    post: t.field({
      type: 'Post',
      nullable: true,
      description: 'A post, or null if there is none with that id.',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, { id }, { loaders }) => {
        const post = await loaders.posts.load(id);
        return post && postNode(post);
      },
    }),
    posts: t.field({
      type: 'PostConnection',
      description: 'The feed, in the order of GET /posts: commentCount descending, then newest first. first: 1–100.',
      args: { first: t.arg.int({ defaultValue: 20 }), after: t.arg.string() },
      resolve: async (_root, { first, after }, { services, feedSpans }) => {
        const page = await services.feed.page(after ?? null, pageSize(first));
        feedSpans.push(page.span);
        return connectionOf(page.posts, page.nextCursor, (post) => services.feed.cursorOf(post), postNode);
      },
    }),
  }),
});
