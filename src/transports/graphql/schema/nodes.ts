import type { CommentView, PostView } from '../../../core/posts/post.js';
import { iso } from './connections.js';

/** A comment as the schema serves it: its time already in the schema's ISO-8601 form. */
export type CommentNode = Omit<CommentView, 'createdAt'> & { createdAt: string };

/** A post as the schema serves it: times already ISO-8601, so they are exposed, not resolved. */
export type PostNode = Omit<PostView, 'createdAt' | 'lastComments'> & { createdAt: string; lastComments: readonly CommentNode[] };

// Nodes of frozen views: a store hands out the same frozen views for a feed page that did not
// change (the PostgreSQL store does), so their nodes are made once. A field read then costs the
// compiled query a property access where a resolver costs it a call with its arguments, resolve
// info and path (~0.7 kB of garbage each, 60 a feed page of 20).
const nodesOfFrozen = new WeakMap<object, object>();

/** `post` with its times formatted for the schema. */
export function postNode(post: PostView): PostNode {
  return nodeOf(post, () => ({ ...post, createdAt: iso(post.createdAt), lastComments: frozenIf(post.lastComments, post.lastComments.map(commentNode)) }));
}

/** `comment` with its time formatted for the schema. */
export function commentNode(comment: CommentView): CommentNode {
  return nodeOf(comment, () => ({ ...comment, createdAt: iso(comment.createdAt) }));
}

/** `made`, frozen when `from` is: a shared node must not be changed by one request under another. */
function frozenIf<T>(from: readonly unknown[], made: T[]): readonly T[] {
  return Object.isFrozen(from) ? Object.freeze(made) : made;
}

function nodeOf<V extends object, N extends PostNode | CommentNode>(view: V, make: () => N): N {
  if (!Object.isFrozen(view)) return make();
  const known = nodesOfFrozen.get(view) as N | undefined;
  if (known !== undefined) return known;
  const node = make();
  nodesOfFrozen.set(view, Object.freeze(node));
  return node;
}
