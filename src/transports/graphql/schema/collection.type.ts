import { builder } from './builder.js';
import { iso } from './connections.js';
import { referencedUser } from './loaded.js';

builder.objectType('Collection', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    owner: t.field({ type: 'User', resolve: (collection, _args, context) => referencedUser(collection.ownerId, context) }),
    createdAt: t.string({ resolve: (collection) => iso(collection.createdAt) }),
    images: t.field({
      type: ['Image'],
      description: 'The images in this collection, newest image first.',
      resolve: (collection, _args, { loaders }) => loaders.imagesOfCollection.load(collection.id),
    }),
  }),
});
