import { type Kysely, sql } from 'kysely';

/** How many counters the feed version is spread over (see KyselyFeedState). */
export const feedVersionBuckets = 16;

/**
 * Migration `0007_feed_version_buckets`: the single-row feed version becomes a sum of
 * `feedVersionBuckets` counters, so concurrent feed writes each lock a different row instead of
 * queueing on one until commit. Bucket 0 carries the old version over, so the summed version
 * keeps growing across the upgrade and never repeats a key a cache may still hold.
 */
export async function feedVersionBucketsMigration(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('feed_versions')
    .addColumn('bucket', 'integer', (c) => c.primaryKey())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .execute();
  await sql`insert into feed_versions (bucket, version) select 0, version from feed_state where id = 1`.execute(db);
  for (let bucket = 1; bucket < feedVersionBuckets; bucket++) {
    await sql`insert into feed_versions (bucket, version) values (${bucket}, 0)`.execute(db);
  }
  await db.schema.dropTable('feed_state').execute();
}
