import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';
import type { MetadataDialect } from './metadata-dialect.js';
import { operationsMigration } from './operations-migration.js';
import { feedVersionBucketsMigration } from './feed-version-buckets-migration.js';
import { uploadsMigration } from './uploads-migration.js';

/**
 * The schema history, written once with Kysely's schema builder for both databases. Listed in
 * code rather than scanned from a folder, so it works from `src` under tsx and from `dist` alike.
 * Names sort lexically and are recorded in `kysely_migration`: never rename or edit one that has
 * shipped; add `0002_…` instead.
 */
export function metadataMigrations(dialect: MetadataDialect): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001_foundation': { up: (db) => foundation(db, dialect) },
    '0002_posts': { up: (db) => posts(db) },
    '0003_collections': { up: (db) => collections(db) },
    '0004_uploads': { up: (db) => uploadsMigration(db) },
    '0005_operations': { up: (db) => operationsMigration(db) },
    '0006_instance_settings': { up: (db) => instanceSettings(db) },
    '0007_feed_version_buckets': { up: (db) => feedVersionBucketsMigration(db) },
    '0008_owner_listings': { up: (db) => ownerListings(db) },
    '0009_image_sharing': { up: (db) => imageSharing(db) },
  };
  return { getMigrations: async () => migrations };
}

/**
 * A user's posts newest first walk `posts(author_id, id)` from the top (images have
 * `images(owner_id, id)` since 0004; the composite replaces `posts_author_id`, whose queries it
 * serves), and deleting an account finds the comments its user wrote without a table scan.
 */
async function ownerListings(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('posts_author_id_id').on('posts').columns(['author_id', 'id']).execute();
  await db.schema.dropIndex('posts_author_id').execute();
  await db.schema.createIndex('comments_author_id').on('comments').column('author_id').execute();
}

/** What an owner lets others see of an image's metadata: nothing more until they choose (0 = off). */
async function imageSharing(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('images')
    .addColumn('share_location', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('images')
    .addColumn('share_taken_at', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

/** Users, sessions, images and the event log. */
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
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
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

/** Posts, comments, the feed version and remembered Idempotency-Keys. */
async function posts(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('posts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('author_id', 'text', (c) => c.notNull().references('users.id'))
    // No cascade: the core refuses to delete an image a post shows (IMAGE_IN_USE), and the
    // foreign key backs that refusal up if a code path forgets to ask.
    .addColumn('image_id', 'text', (c) => c.notNull().references('images.id'))
    .addColumn('caption', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('comment_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // The feed order (comment_count desc, id desc), walked backwards: pages are index range scans.
  await db.schema.createIndex('posts_feed').on('posts').columns(['comment_count', 'id']).execute();
  await db.schema.createIndex('posts_image_id').on('posts').column('image_id').execute();
  await db.schema.createIndex('posts_author_id').on('posts').column('author_id').execute();

  await db.schema
    .createTable('comments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('post_id', 'text', (c) => c.notNull().references('posts.id').onDelete('cascade'))
    .addColumn('author_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // A post's comments newest first, the last 2 per post for the feed, and the cascade's lookup.
  await db.schema.createIndex('comments_post_id_id').on('comments').columns(['post_id', 'id']).execute();

  await db.schema
    .createTable('feed_state')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .addCheckConstraint('feed_state_single_row', sql`id = 1`)
    .execute();
  // Inserted here, not on first bump: bump() is then a plain UPDATE that never races an insert.
  await sql`insert into feed_state (id, version) values (1, 0)`.execute(db);

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('result', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('lease_until', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['user_id', 'key'])
    .execute();
  await db.schema.createIndex('idempotency_keys_expires_at').on('idempotency_keys').column('expires_at').execute();
}

/** Collections and their images, a set per collection. */
async function collections(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('collections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // The viewer's collections newest first: a range scan of one owner's entries.
  await db.schema.createIndex('collections_owner_id_id').on('collections').columns(['owner_id', 'id']).execute();

  await db.schema
    .createTable('collection_images')
    // Cascades on both sides: deleting a collection or an image takes its memberships with it, in
    // the same statement, so neither side can ever list a member that is gone.
    .addColumn('collection_id', 'text', (c) => c.notNull().references('collections.id').onDelete('cascade'))
    .addColumn('image_id', 'text', (c) => c.notNull().references('images.id').onDelete('cascade'))
    .addColumn('added_at', 'bigint', (c) => c.notNull())
    // The primary key makes a collection a set (adding twice conflicts) and serves Collection.images.
    .addPrimaryKeyConstraint('collection_images_pk', ['collection_id', 'image_id'])
    .execute();
  // Image.collections, and the cascade from images.
  await db.schema.createIndex('collection_images_image_id').on('collection_images').columns(['image_id', 'collection_id']).execute();
}

/** Values every process of a deployment must share: generated secrets, the admin token's fingerprint. */
async function instanceSettings(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('instance_settings')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
