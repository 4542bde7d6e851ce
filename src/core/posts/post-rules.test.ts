import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../errors.js';
import { assertPageLimit, assertValidCaption, assertValidCommentBody } from './post-rules.js';

const invalid = (error: unknown) => isAppError(error, 'VALIDATION_FAILED');

test('captions: empty to 2,200 characters, counted as code points', () => {
  assertValidCaption('');
  assertValidCaption('x'.repeat(2_200));
  assertValidCaption('👍'.repeat(2_200)); // 4,400 UTF-16 units, 2,200 characters
  assert.throws(() => assertValidCaption('x'.repeat(2_201)), invalid);
  assert.throws(() => assertValidCaption(42), invalid);
});

test('comment bodies: 1 to 1,000 characters, not blank', () => {
  assertValidCommentBody('a');
  assertValidCommentBody('é'.repeat(1_000));
  for (const bad of ['', ' \n\t', 'x'.repeat(1_001), null]) assert.throws(() => assertValidCommentBody(bad), invalid);
});

test('page limits: integers 1 to 100', () => {
  assertPageLimit(1);
  assertPageLimit(100);
  for (const bad of [0, 101, 2.5, Number.NaN, -1]) assert.throws(() => assertPageLimit(bad), invalid);
});
