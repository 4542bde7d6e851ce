import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'fast-querystring';
import { rememberingQueryParser } from './query-strings.js';

const long = `query=${encodeURIComponent('{ posts(first: 20) { edges { node { id caption author { username } } } } }')}&variables=%7B%7D&tag=a&tag=b`;

describe('rememberingQueryParser', () => {
  test('parses as fast-querystring does, short and long, repeated or not', () => {
    const parseQuery = rememberingQueryParser();
    for (const text of ['limit=20&cursor=abc', 'a=1&a=2', '', 'x=%ZZ', long, long, `${long}&more=1`]) {
      assert.deepEqual({ ...parseQuery(text) }, { ...parse(text) }, text);
    }
    assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(parseQuery(long))), null, 'no Object.prototype behind it');
  });

  test('each caller gets its own copy: changing one (as validation coerces values) changes no other', () => {
    const parseQuery = rememberingQueryParser();
    const first = parseQuery(long);
    first.variables = 'changed';
    (first.tag as string[]).push('c');
    const second = parseQuery(long);
    assert.equal(second.variables, '{}');
    assert.deepEqual(second.tag, ['a', 'b']);
    assert.notEqual(second, parseQuery(long));
  });

  test('past its bound it forgets everything at once and goes on parsing right', () => {
    const parseQuery = rememberingQueryParser(long.length * 2);
    const texts = Array.from({ length: 5 }, (_, i) => `${long}&n=${i}`);
    for (const text of [...texts, ...texts]) assert.equal(parseQuery(text).n, text.slice(-1));
  });
});
