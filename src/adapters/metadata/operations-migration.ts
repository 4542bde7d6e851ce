import { type Kysely, sql } from 'kysely';

/**
 * Migration `0005_operations`: the job table and its schedules, one record per
 * stored blob for garbage collection, the admin stats projection and the bulk-import ledger.
 * Existing data is carried over in the same transaction: blob records and stats counters are
 * computed from the images table, and the projection starts at the current end of the event log.
 */
export async function operationsMigration(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('key', 'text')
    // The key while the job is queued or running, null after: a UNIQUE column with NULLs allowed
    // is the portable "one live job per key" (both databases treat NULLs as distinct).
    .addColumn('active_key', 'text', (c) => c.unique())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('run_at', 'bigint', (c) => c.notNull())
    .addColumn('leased_by', 'text')
    .addColumn('lease_token', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
  // Workers look for due jobs: (state in queued/running, run_at <= now), oldest first.
  await db.schema.createIndex('jobs_state_run_at').on('jobs').columns(['state', 'run_at']).execute();
  // Housekeeping deletes old done jobs by finish time.
  await db.schema.createIndex('jobs_finished_at').on('jobs').column('finished_at').execute();

  await db.schema
    .createTable('job_schedules')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('next_run_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('blob_records')
    .addColumn('sha256', 'text', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('unreferenced_since', 'bigint')
    .addColumn('missing_since', 'bigint')
    .addColumn('state_changed_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('blob_records_unreferenced_since').on('blob_records').column('unreferenced_since').execute();

  await db.schema
    .createTable('blob_pins')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('blob_pins_sha256').on('blob_pins').column('sha256').execute();
  await db.schema.createIndex('blob_pins_expires_at').on('blob_pins').column('expires_at').execute();

  await db.schema
    .createTable('stats_counters')
    .addColumn('dimension', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('uploads', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('stats_counters_pk', ['dimension', 'value'])
    .execute();
  // "Top N of a dimension" reads the highest counts of one dimension first.
  await db.schema.createIndex('stats_counters_top').on('stats_counters').columns(['dimension', 'uploads']).execute();
  await db.schema
    .createTable('stats_checkpoint')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('position', 'bigint', (c) => c.notNull())
    .addCheckConstraint('stats_checkpoint_single_row', sql`id = 1`)
    .execute();

  await db.schema
    .createTable('import_ledger')
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('modified_at', 'bigint', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('image_id', 'text')
    .addColumn('detail', 'text')
    .addColumn('recorded_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('import_ledger_pk', ['owner_id', 'path'])
    .execute();

  // The stats projection reads only image events: an index range per type, not a scan of every
  // comment's event since its checkpoint.
  await db.schema.createIndex('events_type_position').on('events').columns(['type', 'position']).execute();

  await db.schema.alterTable('images').addColumn('metadata_extracted_at', 'bigint').execute();
  // Images from before this migration had their EXIF read during the upload itself.
  await sql`update images set metadata_extracted_at = created_at`.execute(db);
  // Garbage collection finds incomplete uploads by creation time among the few without a completion.
  await db.schema.createIndex('images_incomplete').on('images').columns(['upload_completed_at', 'created_at']).execute();

  await sql`
    insert into blob_records (sha256, size, state, created_at, unreferenced_since, missing_since, state_changed_at)
    select sha256, max(size), 'live', min(created_at), null, null, min(created_at) from images group by sha256
  `.execute(db);
  await sql`
    insert into stats_counters (dimension, value, uploads)
    select 'format', format, count(*) from images group by format
  `.execute(db);
  await sql`
    insert into stats_counters (dimension, value, uploads)
    select 'camera_model', camera_model, count(*) from images where camera_model is not null group by camera_model
  `.execute(db);
  // The UTC day is computed in JavaScript for new images; for the backfill, integer division of
  // epoch ms by a day's ms, formatted back in JavaScript below, gives the same days on both databases.
  const days = await sql<{ day: number | string; uploads: number | string }>`
    select created_at / 86400000 as day, count(*) as uploads from images group by created_at / 86400000
  `.execute(db);
  for (const { day, uploads } of days.rows) {
    const date = new Date(Math.floor(Number(day)) * 86_400_000).toISOString().slice(0, 10);
    await sql`insert into stats_counters (dimension, value, uploads) values ('day', ${date}, ${Number(uploads)})`.execute(db);
  }
  await sql`insert into stats_checkpoint (id, position) select 1, coalesce(max(position), 0) from events`.execute(db);
}
