import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'graphql';
import { costCheck, isTooComplex } from './limits.js';
import { schema } from './schema.js';
import { iso } from './schema/connections.js';

const refused = (run: () => void) => assert.throws(run, (error) => isTooComplex(error));

test('costCheck refuses a document over the limit on every request, not only the first', () => {
  const check = costCheck(150);
  // 100 posts, each with its author: 200 objects.
  const document = parse('{ posts(first: 100) { edges { node { id author { id } } } } }');
  for (let i = 0; i < 3; i++) refused(() => check(schema, document, undefined, undefined));
  const small = parse('{ posts(first: 10) { edges { node { id author { id } } } } }');
  for (let i = 0; i < 3; i++) check(schema, small, undefined, undefined);
});

test('costCheck measures an operation with variables on each request: the same document costs what its variables say', () => {
  const check = costCheck(150);
  const document = parse('query Feed($n: Int) { posts(first: $n) { edges { node { id author { id } } } } }');
  check(schema, document, { n: 10 }, 'Feed');
  refused(() => check(schema, document, { n: 100 }, 'Feed'));
  check(schema, document, { n: 10 }, 'Feed');
  refused(() => check(schema, document, { n: 100 }, undefined));
});

test('costCheck keeps the operations of one document apart', () => {
  const check = costCheck(150);
  const document = parse(`
    query Small { posts(first: 10) { edges { node { id author { id } } } } }
    query Large { posts(first: 100) { edges { node { id author { id } } } } }`);
  check(schema, document, undefined, 'Small');
  refused(() => check(schema, document, undefined, 'Large'));
  check(schema, document, undefined, 'Small');
  refused(() => check(schema, document, undefined, 'Large'));
});

test('iso formats as toISOString does, remembered or not', () => {
  for (const ms of [0, 1, 1_700_000_000_123, -1, 253_402_300_799_999]) {
    assert.equal(iso(ms), new Date(ms).toISOString());
    assert.equal(iso(ms), new Date(ms).toISOString());
  }
  assert.throws(() => iso(Number.NaN), RangeError);
});
