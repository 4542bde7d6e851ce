import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FeedMove, MetadataStore } from '../../ports/metadata-store.js';
import { FeedService, type FeedSpan } from './feed-service.js';
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

describe('unchangedSince: a page is kept only while no known move touched its span', () => {
  const at = (commentCount: number, id: string) => ({ commentCount, id });
  /** A feed whose store knows `moves` as the bumps after version 10, one each. */
  const feedKnowing = (moves: FeedMove[] | undefined) => {
    const feedChanges = { movesBetween: (from: number, to: number) => (from === 10 && moves?.length === to - from ? moves : undefined) };
    return new FeedService({ feedChanges } as unknown as MetadataStore, cursors);
  };
  const move = (postId: string, from: number, to: number): FeedMove => ({ postId, from: at(from, postId), to: at(to, postId) });
  const unchanged = (span: FeedSpan, moves: FeedMove[] | undefined) => feedKnowing(moves).unchangedSince(span, 10, 10 + (moves?.length ?? 1));
  // A middle page: the places after (5, 'm') up to (3, 'k') included.
  const middle: FeedSpan = { after: at(5, 'm'), through: at(3, 'k') };

  test('moves wholly below or above the span keep it', () => {
    assert.equal(unchanged(middle, [move('x', 1, 2), move('y', 9, 10), move('b', 2, 3)]), true);
  });

  test('a post moving within, leaving or entering the span changes it', () => {
    assert.equal(unchanged(middle, [move('z', 3, 4)]), false, 'within');
    assert.equal(unchanged(middle, [move('l', 5, 6)]), false, 'leaving at the top: (5, l) comes after (5, m)');
    assert.equal(unchanged(middle, [move('l', 2, 3)]), false, 'entering at the bottom: (3, l) comes before (3, k)');
    assert.equal(unchanged(middle, [move('x', 1, 2), move('z', 3, 4)]), false, 'one touching move among others');
  });

  test('its boundaries are exact: `after` is outside, `through` inside', () => {
    assert.equal(unchanged(middle, [move('m', 5, 6)]), true, 'the post at the cursor moves up, away');
    assert.equal(unchanged(middle, [move('k', 3, 4)]), false, 'the last post of the page moves');
    assert.equal(unchanged({ after: at(4, 'm'), through: at(4, 'c') }, [move('c', 4, 5)]), false, 'the last post leaves over the top');
    assert.equal(unchanged(middle, [move('j', 2, 3)]), true, '(3, j) comes after (3, k)');
  });

  test('a post passing over the whole span (all ties) leaves the same posts in it', () => {
    assert.equal(unchanged({ after: at(4, 'm'), through: at(4, 'c') }, [move('a', 4, 5)]), true);
  });

  test('the first page starts at the top; the last page runs to the end', () => {
    assert.equal(unchanged({ after: null, through: at(7, 'k') }, [move('q', 99, 100)]), false);
    assert.equal(unchanged({ after: at(1, 'b'), through: null }, [move('q', 0, 1)]), false);
    assert.equal(unchanged({ after: at(1, 'b'), through: null }, [move('q', 1, 2)]), true);
  });

  test('a bump that is not a known move, or none at all, decides without looking', () => {
    assert.equal(unchanged(middle, undefined), false);
    assert.equal(feedKnowing(undefined).unchangedSince(middle, 10, 10), true);
  });
});
