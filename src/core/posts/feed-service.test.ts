import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetadataStore } from '../../ports/metadata-store.js';
import { FeedService } from './feed-service.js';
import { OpaqueCursor } from './opaque-cursor.js';

// cursorOf never touches the store.
const unusedStore = {} as MetadataStore;
const cursors = new OpaqueCursor('a secret shared by the deployment');

test('cursorOf: remembered cursors are the ones a fresh service signs, one per position', () => {
  const feed = new FeedService(unusedStore, cursors);
  const positions = [
    { commentCount: 3, id: '0190-a' },
    { commentCount: 4, id: '0190-a' },
    { commentCount: 3, id: '0190-b' },
    { commentCount: 34, id: ':0190-a' },
    { commentCount: 3, id: '4:0190-a' },
  ];
  const first = positions.map((position) => feed.cursorOf(position));
  const again = positions.map((position) => feed.cursorOf(position));
  const fresh = positions.map((position) => new FeedService(unusedStore, cursors).cursorOf(position));
  assert.deepEqual(again, first);
  assert.deepEqual(first, fresh);
  assert.equal(new Set(first).size, positions.length, 'every position its own cursor');
  assert.deepEqual(
    first.map((cursor) => cursors.decode('feed', cursor)),
    positions.map((p) => [p.commentCount, p.id]),
  );
});

test('cursorOf: a frozen post is remembered by object, with the cursor of its position', () => {
  const feed = new FeedService(unusedStore, cursors);
  const frozen = Object.freeze({ commentCount: 7, id: '0190-c' });
  const cursor = feed.cursorOf(frozen);
  assert.equal(feed.cursorOf(frozen), cursor);
  assert.deepEqual(cursors.decode('feed', cursor), [7, '0190-c']);
  // A post that can still change is looked up by its position every time.
  const changing = { commentCount: 7, id: '0190-c' };
  assert.equal(feed.cursorOf(changing), cursor);
  changing.commentCount = 8;
  assert.deepEqual(cursors.decode('feed', feed.cursorOf(changing)), [8, '0190-c']);
});
