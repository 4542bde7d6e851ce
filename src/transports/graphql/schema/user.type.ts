import { builder } from './builder.js';
import { connectionOf, iso, pageSize } from './connections.js';
import { referencedUser } from './loaded.js';
import { postNode } from './nodes.js';

builder.objectType('User', {
  fields: (t) => ({
    id: t.exposeID('id'),
    username: t.exposeString('username'),
    // A byline (author of a post or comment) has no creation time: loaded, batched, only if asked.
    createdAt: t.string({
      resolve: async (user, _args, context) => iso('createdAt' in user ? user.createdAt : (await referencedUser(user.id, context)).createdAt),
    }),
    posts: t.field({
      type: 'PostConnection',
      description: "This user's posts, newest first (as GET /users/{username}/posts). first: 1–100.",
      args: { first: t.arg.int({ defaultValue: 20 }), after: t.arg.string() },
      resolve: async (user, { first, after }, { services }) => {
        const page = await services.posts.listByAuthor(user.id, after ?? null, pageSize(first));
        return connectionOf(page.posts, page.nextCursor, (post) => services.posts.authorCursorOf(post), postNode);
      },
    }),
    images: t.field({
      type: 'ImageConnection',
      nullable: true,
      description: 'Your own images, newest first (as GET /me/images): null on anyone but the signed-in user. first: 1–100.',
      args: { first: t.arg.int({ defaultValue: 20 }), after: t.arg.string() },
      resolve: async (user, { first, after }, { services, viewer }) => {
        const me = await viewer();
        if (me?.id !== user.id) return null;
        const page = await services.images.listMine(me, after ?? null, pageSize(first));
        return connectionOf(page.images, page.nextCursor, (image) => services.images.cursorOf(image));
      },
    }),
  }),
});
