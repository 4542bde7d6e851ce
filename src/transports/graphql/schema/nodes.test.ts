import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PostView } from '../../../core/posts/post.js';
import { commentNode, postNode } from './nodes.js';

function view(): PostView {
  return {
    id: 'p1',
    authorId: 'u1',
    imageId: 'i1',
    caption: 'a caption',
    createdAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    commentCount: 1,
    author: { id: 'u1', username: 'ann' },
    image: { id: 'i1', sha256: 'ab', width: 10, height: 20 },
    lastComments: [{ id: 'c1', postId: 'p1', authorId: 'u2', body: 'hi', createdAt: Date.UTC(2026, 0, 3), author: { id: 'u2', username: 'bob' } }],
  };
}

test('postNode: the view with its times in ISO-8601, nothing else changed', () => {
  const post = view();
  assert.deepEqual(postNode(post), {
    ...post,
    createdAt: '2026-01-02T03:04:05.006Z',
    lastComments: [{ ...post.lastComments[0], createdAt: '2026-01-03T00:00:00.000Z' }],
  });
  assert.deepEqual(commentNode(post.lastComments[0]!), { ...post.lastComments[0], createdAt: '2026-01-03T00:00:00.000Z' });
});

test('postNode: a frozen view gets one frozen node, a changeable view a fresh node each time', () => {
  const changeable = view();
  assert.notEqual(postNode(changeable), postNode(changeable));
  changeable.caption = 'edited';
  assert.equal(postNode(changeable).caption, 'edited');

  const post = view();
  for (const comment of post.lastComments) Object.freeze(comment);
  Object.freeze(post.lastComments);
  Object.freeze(post);
  const node = postNode(post);
  assert.equal(postNode(post), node);
  assert.ok(Object.isFrozen(node) && Object.isFrozen(node.lastComments) && Object.isFrozen(node.lastComments[0]));
});
