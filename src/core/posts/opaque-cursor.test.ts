import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { isAppError } from '../errors.js';
import { OpaqueCursor } from './opaque-cursor.js';

const cursors = new OpaqueCursor('a secret shared by the deployment');
const invalid = (error: unknown) => isAppError(error, 'INVALID_CURSOR');

test('a cursor round-trips its value for the same kind', () => {
  const cursor = cursors.encode('feed', [3, '0190-abc']);
  assert.deepEqual(cursors.decode('feed', cursor), [3, '0190-abc']);
  assert.match(cursor, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'URL-safe without encoding');
});

test('another kind, another secret, an edited payload or signature are refused', () => {
  const cursor = cursors.encode('feed', [3, 'x']);
  const [payload, signature] = cursor.split('.') as [string, string];
  assert.throws(() => cursors.decode('comments', cursor), invalid);
  assert.throws(() => new OpaqueCursor('another secret').decode('feed', cursor), invalid);
  const edited = Buffer.from(JSON.stringify(['feed', [4, 'x']])).toString('base64url');
  assert.throws(() => cursors.decode('feed', `${edited}.${signature}`), invalid);
  assert.throws(() => cursors.decode('feed', `${payload}.${signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`), invalid);
});

test('garbage of any shape is INVALID_CURSOR, never another error', () => {
  for (const garbage of ['', '.', '..', 'abc', 'a.b', 'a.b.c', '💥.💥', 'x'.repeat(2000)]) {
    assert.throws(() => cursors.decode('feed', garbage), invalid, garbage);
  }
});

test('the signature is plain HMAC-SHA256 (truncated): cursors stay valid across implementations', () => {
  const secret = 'a secret shared by the deployment';
  const key = createHmac('sha256', 'imagegram cursor key').update(secret).digest();
  for (const value of [[3, '0190-abc'], { postId: 'p', id: 'c' }, 'é'.repeat(900), 'x'.repeat(5000)]) {
    const [payload, signature] = cursors.encode('feed', value).split('.') as [string, string];
    assert.equal(signature, createHmac('sha256', key).update(payload).digest('base64url').slice(0, 22));
    assert.deepEqual(cursors.decode('feed', `${payload}.${signature}`), value);
  }
});
