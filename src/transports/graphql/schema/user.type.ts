import { builder } from './builder.js';
import { iso } from './connections.js';
import { referencedUser } from './loaded.js';

builder.objectType('User', {
  fields: (t) => ({
    id: t.exposeID('id'),
    username: t.exposeString('username'),
    // A byline (author of a post or comment) has no creation time: loaded, batched, only if asked.
    createdAt: t.string({
      resolve: async (user, _args, context) => iso('createdAt' in user ? user.createdAt : (await referencedUser(user.id, context)).createdAt),
    }),
  }),
});
