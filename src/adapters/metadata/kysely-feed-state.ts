import { type Kysely, sql } from 'kysely';
import type { FeedState } from '../../ports/metadata-store.js';
import { feedVersionBuckets } from './feed-version-buckets-migration.js';
import type { MetadataDialect } from './metadata-dialect.js';
import type { Database } from './schema.js';

/**
 * The feed version as the sum of `feedVersionBuckets` counters (rows of `feed_versions`). Each
 * bump adds 1 to one counter, so the sum read in one statement counts exactly the feed writes
 * committed before it: two reads that see the same sum saw the same writes, and a page cached
 * under a version can never be older than that version. A bump locks only its counter until
 * commit, so concurrent writers on PostgreSQL rarely wait for each other (one row for all of them
 * made every post and comment commit one after another, WAL flush included).
 */
export class KyselyFeedState implements FeedState {
  // Picked once per transaction (this object lives as long as one): a second bump in the same
  // transaction finds its own row locked by itself, never waits, and so can never deadlock.
  private bucket: number | null = null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async version(): Promise<number> {
    const row = await this.db
      .selectFrom('feed_versions')
      .select((eb) => eb.fn.sum<number | string>('version').as('version'))
      .executeTakeFirstOrThrow();
    return Number(row.version);
  }

  async bump(): Promise<void> {
    const increment = this.db.updateTable('feed_versions').set((eb) => ({ version: eb('version', '+', 1) }));
    if (this.bucket === null) {
      // Any counter not held by an in-flight writer (SKIP LOCKED on PostgreSQL), searched from a
      // random one, in the same statement as the increment; when every counter is held (nothing
      // updated), wait for the random one.
      const start = Math.floor(Math.random() * feedVersionBuckets);
      const free = this.dialect.lockRows(
        this.db
          .selectFrom('feed_versions')
          .select('bucket')
          .orderBy(sql`(bucket + ${sql.lit(feedVersionBuckets - start)}) % ${sql.lit(feedVersionBuckets)}`)
          .limit(1),
        { skipLocked: true },
      );
      const bumped = await increment.where('bucket', '=', free).returning('bucket').executeTakeFirst();
      this.bucket = bumped?.bucket ?? start;
      if (bumped !== undefined) return;
    }
    // Relative, so concurrent bumps of one counter never collapse into one.
    await increment.where('bucket', '=', this.bucket).execute();
  }
}
