import type { StoreSlice } from '../../ports/store-slice.js';
import type { EventType, StoredEvent } from '../events/event.js';
import type { CounterDelta } from './upload-stats.js';

/** The UTC calendar day of an epoch-ms time, `YYYY-MM-DD`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * What one event changes in the stats counters: images created and deleted move their format and
 * creation day, extracted EXIF moves the camera model. Events of other kinds change nothing.
 */
export function statsDeltasOf(event: StoredEvent): CounterDelta[] {
  const payload = event.payload;
  const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);
  const time = (value: unknown): number => (typeof value === 'number' ? value : event.at);
  switch (event.type) {
    case 'ImageCreated': {
      const format = text(payload.format);
      if (format === null) return [];
      return [
        { dimension: 'format', value: format, delta: 1 },
        { dimension: 'day', value: utcDay(time(payload.createdAt)), delta: 1 },
      ];
    }
    case 'ImageDeleted': {
      const format = text(payload.format);
      const model = text(payload.cameraModel);
      const deltas: CounterDelta[] = [];
      if (format !== null)
        deltas.push({ dimension: 'format', value: format, delta: -1 }, { dimension: 'day', value: utcDay(time(payload.createdAt)), delta: -1 });
      if (model !== null) deltas.push({ dimension: 'camera_model', value: model, delta: -1 });
      return deltas;
    }
    case 'ImageMetadataExtracted': {
      const before = text(payload.previousCameraModel);
      const after = text(payload.cameraModel);
      if (before === after) return [];
      const deltas: CounterDelta[] = [];
      if (before !== null) deltas.push({ dimension: 'camera_model', value: before, delta: -1 });
      if (after !== null) deltas.push({ dimension: 'camera_model', value: after, delta: 1 });
      return deltas;
    }
    default:
      return [];
  }
}

/** The only events that move a counter: the rest of the log (comments, posts…) is skipped in SQL. */
const countedEventTypes: readonly EventType[] = ['ImageCreated', 'ImageDeleted', 'ImageMetadataExtracted'];

/** Another projector advanced the checkpoint first: this batch rolls back and is read again. */
class CheckpointMoved extends Error {}

/**
 * The admin stats as a projection of the event log (projections consume
 * the log): counters per format, camera model and day, advanced in batches,
 * each batch's counters and checkpoint in one transaction. Reading the stats is then three indexed
 * lookups of a few rows, at any number of images, instead of GROUP BYs over the whole images table.
 */
export class StatsProjection {
  constructor(
    private readonly store: StoreSlice<'events' | 'stats'>,
    private readonly batchSize = 1_000,
  ) {}

  /** Applies every event after the checkpoint; returns how many events it read. Safe to run concurrently. */
  async catchUp(): Promise<number> {
    let read = 0;
    for (let conflicts = 0; conflicts < 10; ) {
      try {
        const batch = await this.store.transaction(async (tx) => {
          const from = await tx.stats.checkpoint();
          // Read the end of the log first: every event up to it is visible, so when fewer than a
          // batch of counted events follow the checkpoint, the checkpoint may jump to that end.
          const end = await tx.events.lastPosition();
          if (end <= from) return 0;
          const events = await tx.events.list(from, this.batchSize, countedEventTypes);
          const full = events.length === this.batchSize;
          const to = full ? events[events.length - 1]!.position : end;
          if (!(await tx.stats.advance(from, to))) throw new CheckpointMoved();
          await tx.stats.apply(events.filter((event) => event.position <= to).flatMap(statsDeltasOf));
          return full ? this.batchSize : events.length;
        });
        read += batch;
        if (batch < this.batchSize) return read;
      } catch (error) {
        if (!(error instanceof CheckpointMoved)) throw error;
        conflicts += 1;
      }
    }
    return read;
  }
}
