import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParsedPages } from './parsed-pages.js';

test('ParsedPages: the same text under a key is parsed once, and shared deeply frozen', () => {
  let parses = 0;
  const pages = new ParsedPages((text) => {
    parses++;
    return JSON.parse(text) as { rows: { id: string }[] };
  });
  const text = '{"rows":[{"id":"a"},{"id":"b"}]}';
  const first = pages.valueOf('k', text);
  // An equal text built apart (not the same string object) is still recognised.
  const again = pages.valueOf('k', JSON.stringify({ rows: [{ id: 'a' }, { id: 'b' }] }));
  assert.equal(again, first);
  assert.equal(parses, 1);
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first.rows) && Object.isFrozen(first.rows[0]));
  assert.throws(() => {
    (first.rows[0] as { id: string }).id = 'changed';
  }, TypeError);
});

test('ParsedPages: a changed text is parsed again, and keys do not share values', () => {
  const pages = new ParsedPages((text) => JSON.parse(text) as number[]);
  const before = pages.valueOf('k', '[1]');
  const after = pages.valueOf('k', '[2]');
  assert.deepEqual(after, [2]);
  assert.notEqual(after, before);
  assert.deepEqual(pages.valueOf('other', '[1]'), [1]);
  assert.deepEqual(pages.valueOf('k', '[1]'), [1]);
});

test('ParsedPages: at most maxTextLength of text is kept', () => {
  let parses = 0;
  const pages = new ParsedPages((text) => {
    parses++;
    return [text];
  }, 10);
  pages.valueOf('a', '"123456"');
  pages.valueOf('b', '"abcdef"'); // 16 units in all: a is dropped
  pages.valueOf('a', '"123456"');
  assert.equal(parses, 3);
});
