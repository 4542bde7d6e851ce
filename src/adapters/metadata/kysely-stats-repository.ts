import { type Kysely, sql } from 'kysely';
import type { Counter, CounterDelta, StatsDimension } from '../../core/stats/upload-stats.js';
import type { StatsRepository } from '../../ports/blob-records.js';
import type { MetadataDialect } from './metadata-dialect.js';
import type { Database } from './schema.js';

// The single row migration 0005 inserted.
const checkpointId = 1;

/** The stats projection's counters and checkpoint over Kysely. */
export class KyselyStatsRepository implements StatsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async checkpoint(): Promise<number> {
    const row = await this.db.selectFrom('stats_checkpoint').select('position').where('id', '=', checkpointId).executeTakeFirstOrThrow();
    return Number(row.position);
  }

  async advance(from: number, to: number): Promise<boolean> {
    // Conditional on `from`: a second projector that read the same checkpoint waits on this row's
    // lock (PostgreSQL) and then finds it moved, so its deltas roll back with its transaction.
    const result = await this.db
      .updateTable('stats_checkpoint')
      .set({ position: to })
      .where('id', '=', checkpointId)
      .where('position', '=', from)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async apply(deltas: readonly CounterDelta[]): Promise<void> {
    // Sum per counter first: one statement per counter however many events touched it.
    const sums = new Map<string, CounterDelta>();
    for (const delta of deltas) {
      const key = `${delta.dimension}\u0000${delta.value}`;
      const sum = sums.get(key);
      if (sum) sum.delta += delta.delta;
      else sums.set(key, { ...delta });
    }
    for (const { dimension, value, delta } of sums.values()) {
      if (delta === 0) continue;
      await this.db
        .insertInto('stats_counters')
        .values({ dimension, value, uploads: delta })
        .onConflict((oc) => oc.columns(['dimension', 'value']).doUpdateSet({ uploads: sql<number>`stats_counters.uploads + ${delta}` }))
        .execute();
    }
  }

  async top(dimension: StatsDimension, limit: number): Promise<Counter[]> {
    const rows = await this.db
      .selectFrom('stats_counters')
      .select(['value', 'uploads'])
      .where('dimension', '=', dimension)
      .where('uploads', '>', 0)
      .orderBy('uploads', 'desc')
      .orderBy('value')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ value: row.value, uploads: Number(row.uploads) }));
  }

  async values(dimension: StatsDimension, values: readonly string[]): Promise<Counter[]> {
    if (values.length === 0) return [];
    const rows = await this.db
      .selectFrom('stats_counters')
      .select(['value', 'uploads'])
      .where('dimension', '=', dimension)
      .where(this.dialect.isIn('value', values))
      .execute();
    return rows.map((row) => ({ value: row.value, uploads: Number(row.uploads) }));
  }
}
