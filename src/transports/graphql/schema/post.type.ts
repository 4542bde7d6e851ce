import { builder } from './builder.js';
import { connectionOf, pageSize } from './connections.js';
import { commentNode } from './nodes.js';

// A post view already carries its author, image and last comments (one query for a whole page,
// see PostRepository.findViews); its other comments are paged through the services. Posts and
// comments come as nodes (nodes.ts): their times are already formatted, exposed rather than resolved.
builder.objectType('Post', {
  fields: (t) => ({
    id: t.exposeID('id'),
    caption: t.exposeString('caption'),
    author: t.expose('author', { type: 'User' }),
    createdAt: t.exposeString('createdAt'),
    commentCount: t.exposeInt('commentCount'),
    image: t.expose('image', { type: 'Image' }),
    lastComments: t.expose('lastComments', { type: ['Comment'], description: 'At most 2, newest first.' }),
    comments: t.field({
      type: 'CommentConnection',
      description: 'All comments, newest first. first: 1–100.',
      args: { first: t.arg.int({ defaultValue: 20 }), after: t.arg.string() },
      resolve: async (post, { first, after }, { services, loaders }) => {
        const size = pageSize(first);
        // A first page for many posts is one query; paging further is one post at a time.
        const page = after ? await services.comments.list(post.id, after, size) : await loaders.firstComments.load({ postId: post.id, first: size });
        return connectionOf(page.comments, page.nextCursor, (comment) => services.comments.cursorOf(comment), commentNode);
      },
    }),
  }),
});

builder.objectType('Comment', {
  fields: (t) => ({
    id: t.exposeID('id'),
    body: t.exposeString('body'),
    author: t.expose('author', { type: 'User' }),
    createdAt: t.exposeString('createdAt'),
  }),
});
