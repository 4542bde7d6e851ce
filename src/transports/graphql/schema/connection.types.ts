import { builder } from './builder.js';

// Relay connections (https://relay.dev/graphql/connections.htm). limits.ts recognises these by
// name (`…Connection`, `…Edge`, `PageInfo`) as plumbing that adds no depth or cost.

builder.objectType('PageInfo', {
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', { description: 'Always false: connections here page forward only.' }),
    startCursor: t.exposeString('startCursor', { nullable: true }),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

builder.objectType('PostConnection', {
  fields: (t) => ({ edges: t.expose('edges', { type: ['PostEdge'] }), pageInfo: t.expose('pageInfo', { type: 'PageInfo' }) }),
});
builder.objectType('PostEdge', {
  fields: (t) => ({ node: t.expose('node', { type: 'Post' }), cursor: t.exposeString('cursor') }),
});

builder.objectType('CollectionConnection', {
  fields: (t) => ({ edges: t.expose('edges', { type: ['CollectionEdge'] }), pageInfo: t.expose('pageInfo', { type: 'PageInfo' }) }),
});
builder.objectType('CollectionEdge', {
  fields: (t) => ({ node: t.expose('node', { type: 'Collection' }), cursor: t.exposeString('cursor') }),
});

builder.objectType('ImageConnection', {
  fields: (t) => ({ edges: t.expose('edges', { type: ['ImageEdge'] }), pageInfo: t.expose('pageInfo', { type: 'PageInfo' }) }),
});
builder.objectType('ImageEdge', {
  fields: (t) => ({ node: t.expose('node', { type: 'Image' }), cursor: t.exposeString('cursor') }),
});

builder.objectType('CommentConnection', {
  fields: (t) => ({ edges: t.expose('edges', { type: ['CommentEdge'] }), pageInfo: t.expose('pageInfo', { type: 'PageInfo' }) }),
});
builder.objectType('CommentEdge', {
  fields: (t) => ({ node: t.expose('node', { type: 'Comment' }), cursor: t.exposeString('cursor') }),
});
