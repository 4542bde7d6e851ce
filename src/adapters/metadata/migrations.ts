import type { Kysely, Migration, MigrationProvider } from 'kysely';
import type { MetadataDialect } from './metadata-dialect.js';

/**
 * The schema history, written once with Kysely's schema builder for both databases. Listed in
 * code rather than scanned from a folder, so it works from `src` under tsx and from `dist` alike.
 * Names sort lexically and are recorded in `kysely_migration`: never rename or edit one that has
 * shipped; add `0002_…` instead.
 */
export function metadataMigrations(dialect: MetadataDialect): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001_foundation': { up: (db) => foundation(db, dialect) },
  };
  return { getMigrations: async () => migrations };
}

/** Users, sessions, images and the event log (SPEC §2). */
async function foundation(db: Kysely<unknown>, dialect: MetadataDialect): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('username_key', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) =>
      c.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('images')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // No cascade: deleting a user must go through the core, which emits ImageDeleted events.
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('upload_completed_at', 'bigint')
    .addColumn('camera_make', 'text')
    .addColumn('camera_model', 'text')
    .addColumn('taken_at', 'bigint')
    .addColumn('has_gps', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('gps_latitude', 'double precision')
    .addColumn('gps_longitude', 'double precision')
    // One image per owner and blob: the target of insertOrGetExisting's ON CONFLICT.
    .addUniqueConstraint('images_owner_id_sha256', ['owner_id', 'sha256'])
    .execute();
  // countByHash and garbage collection look blobs up by hash across owners.
  await db.schema.createIndex('images_sha256').on('images').column('sha256').execute();
  await db.schema.createIndex('images_created_at').on('images').column('created_at').execute();

  await db.schema
    .createTable('events')
    .addColumn('position', dialect.identityType, (c) => dialect.identityColumn(c))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .execute();
}
