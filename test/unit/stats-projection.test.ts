import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openSqliteMetadataStore } from '../../src/adapters/metadata/sqlite.js';
import type { NewEvent } from '../../src/core/events/event.js';
import { StatsProjection, statsDeltasOf, utcDay } from '../../src/core/stats/stats-projection.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';

const day = Date.UTC(2026, 10, 30, 12);
const created = (id: string, format: string, at = day): NewEvent => ({
  type: 'ImageCreated',
  actorId: null,
  subjectId: id,
  payload: { sha256: 'x', format, size: 1, createdAt: at },
});
const comment = (id: string): NewEvent => ({ type: 'CommentAdded', actorId: null, subjectId: id, payload: { postId: 'p' } });

describe('StatsProjection over a real SQLite event log', () => {
  let dir: string;
  let store: MetadataStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegram-stats-'));
    store = openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    await store.migrate();
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('counts each image event once across batches, skipping the rest of the log, and moves the checkpoint to its end', async () => {
    const projection = new StatsProjection(store, 2);
    await store.events.append(comment('c1'), created('i1', 'png'), comment('c2'), comment('c3'), created('i2', 'jpeg'), created('i3', 'png'), comment('c4'));
    assert.equal(await projection.catchUp(), 3);
    assert.deepEqual(await store.stats.top('format', 5), [
      { value: 'png', uploads: 2 },
      { value: 'jpeg', uploads: 1 },
    ]);
    assert.deepEqual(await store.stats.values('day', [utcDay(day)]), [{ value: '2026-11-30', uploads: 3 }]);
    assert.equal(await store.stats.checkpoint(), await store.events.lastPosition());
    // Nothing new: nothing counted twice.
    assert.equal(await projection.catchUp(), 0);
    await store.events.append(comment('c5'));
    assert.equal(await projection.catchUp(), 0);
    assert.equal(await store.stats.checkpoint(), await store.events.lastPosition());
    assert.deepEqual(await store.stats.top('format', 5), [
      { value: 'png', uploads: 2 },
      { value: 'jpeg', uploads: 1 },
    ]);
  });

  test('concurrent catch-ups count every event exactly once', async () => {
    const projection = new StatsProjection(store, 3);
    await store.events.append(...Array.from({ length: 20 }, (_, n) => created(`w${n}`, 'webp')));
    await Promise.all([projection.catchUp(), projection.catchUp(), projection.catchUp()]);
    assert.deepEqual(await store.stats.values('format', ['webp']), [{ value: 'webp', uploads: 20 }]);
  });
});

test('statsDeltasOf: created, deleted and re-extracted images move their counters; other events none', () => {
  const at = Date.UTC(2026, 11, 1, 23, 59, 59, 999);
  const base = { position: 1, actorId: null, subjectId: 'i', at };
  assert.deepEqual(statsDeltasOf({ ...base, type: 'ImageCreated', payload: { format: 'png' } }), [
    { dimension: 'format', value: 'png', delta: 1 },
    { dimension: 'day', value: '2026-12-01', delta: 1 },
  ]);
  assert.deepEqual(statsDeltasOf({ ...base, type: 'ImageDeleted', payload: { format: 'png', createdAt: Date.UTC(2026, 10, 2), cameraModel: ' X-T4 ' } }), [
    { dimension: 'format', value: 'png', delta: -1 },
    { dimension: 'day', value: '2026-11-02', delta: -1 },
    { dimension: 'camera_model', value: 'X-T4', delta: -1 },
  ]);
  assert.deepEqual(statsDeltasOf({ ...base, type: 'ImageMetadataExtracted', payload: { cameraModel: 'Z 6', previousCameraModel: null } }), [
    { dimension: 'camera_model', value: 'Z 6', delta: 1 },
  ]);
  assert.deepEqual(statsDeltasOf({ ...base, type: 'ImageMetadataExtracted', payload: { cameraModel: 'Z 6', previousCameraModel: 'Z 6' } }), []);
  assert.deepEqual(statsDeltasOf({ ...base, type: 'ImageMetadataExtracted', payload: { cameraModel: null, previousCameraModel: 'Z 6' } }), [
    { dimension: 'camera_model', value: 'Z 6', delta: -1 },
  ]);
  // An ImageDeleted from before migration 0005 carried only the hash: it was counted by the backfill, not here.
  assert.deepEqual(statsDeltasOf({ ...base, type: 'ImageDeleted', payload: { sha256: 'ab' } }), []);
  assert.deepEqual(statsDeltasOf({ ...base, type: 'CommentAdded', payload: { postId: 'p' } }), []);
});
