import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isObjectType, parse } from 'graphql';
import { feedDocumentOf, feedFields } from './feed-documents.js';
import { schema } from './schema.js';

const feedOf = (source: string, operationName?: string) => feedDocumentOf(schema, parse(source), operationName);

const feedQuery = `query Feed($first: Int, $after: String) {
  posts(first: $first, after: $after) {
    edges { cursor node { id caption commentCount createdAt author { id username createdAt }
      image { id hash url width height format size createdAt owner { username } }
      lastComments { id body createdAt author { username } }
      comments(first: 5) { edges { cursor node { body } } pageInfo { hasNextPage endCursor } } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

describe('which GraphQL documents read only the feed', () => {
  test('every field on the list exists in the schema (a rename must not silently stop caching)', () => {
    for (const coordinate of feedFields) {
      const [typeName, fieldName] = coordinate.split('.') as [string, string];
      const type = schema.getType(typeName);
      assert.ok(isObjectType(type) && type.getFields()[fieldName], `${coordinate} is not in the schema`);
    }
  });

  test('the feed with posts, images, authors and comments qualifies, with its declared variables', () => {
    assert.deepEqual(feedOf(feedQuery)?.variableNames, ['first', 'after']);
    assert.ok(feedOf('{ posts { edges { node { id } } } }'));
    assert.ok(
      feedOf(
        '{ __typename posts(first: 2) { __typename edges { node { ...P } } } } fragment P on Post { id author { ...U } image { ... on Image { url } } } fragment U on User { username }',
      ),
    );
    assert.ok(feedOf('query($c: Boolean!) { posts { edges { node { id caption @include(if: $c) } } } }'));
    // Several operations: the one named decides.
    assert.ok(feedOf('query Mine { me { id } } query Feed { posts { edges { cursor } } }', 'Feed'));
  });

  test('viewer-dependent, non-feed, introspection and write documents do not', () => {
    for (const source of [
      '{ me { id } }',
      '{ posts { edges { cursor } } me { id } }',
      '{ posts { edges { node { ...Viewer } } } } fragment Viewer on Query { me { id } }',
      '{ __schema { queryType { name } } }',
      '{ __type(name: "Post") { name } }',
      '{ posts { edges { node { image { collections { id name } } } } } }',
      '{ post(id: "p1") { id } }',
      '{ collections { edges { cursor } } }',
      'mutation { deletePost(id: "p1") }',
      '{ posts { edges { node { id @deprecated } } } }',
      '{ posts { edges { node { ... on Comment { body } } } } }',
      '{ posts { edges { node { ...C } } } } fragment C on Comment { body }',
      '{ posts { edges { node { ...A } } } } fragment A on Post { ...B } fragment B on Post { ...A }',
      '{ posts { edges { node { nope } } } }',
    ]) {
      assert.equal(feedOf(source), null, source);
    }
    assert.equal(feedOf('query A { posts { edges { cursor } } } query B { posts { edges { cursor } } }'), null, 'no operation chosen');
    assert.equal(feedOf('query Mine { me { id } } query Feed { posts { edges { cursor } } }', 'Mine'), null);
  });

  test('the hash ignores layout and comments but not what is asked', () => {
    const compact = feedOf('{posts(first:2){edges{node{id}}}}')!;
    const spread = feedOf('# the feed\n{\n  posts(first: 2) {\n    edges { node { id } }\n  }\n}')!;
    assert.equal(compact.hash, spread.hash);
    assert.notEqual(feedOf('{ posts(first: 2) { edges { node { id caption } } } }')!.hash, compact.hash);
    assert.notEqual(feedOf('{ posts(first: 3) { edges { node { id } } } }')!.hash, compact.hash);
  });

  test('each fragment is judged once: nested spreads cost linear time', () => {
    const depth = 40;
    const fragments = Array.from({ length: depth }, (_, i) => `fragment F${i} on Post { id ${i + 1 < depth ? `...F${i + 1} ...F${i + 1}` : ''} }`);
    const started = performance.now();
    assert.ok(feedOf(`{ posts { edges { node { ...F0 } } } } ${fragments.join(' ')}`));
    assert.ok(performance.now() - started < 1_000);
  });
});
