import type { Kysely } from 'kysely';

/**
 * Migration `0004_uploads`: resumable uploads and upload links. Written with Kysely's
 * schema builder once for both databases, like the others in migrations.ts.
 */
export async function uploadsMigration(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('uploads')
    // The tus upload id: 32 hex characters from @tus/server's default naming.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('received', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('sha256', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addColumn('claimed_until', 'bigint')
    .addColumn('consumed_at', 'bigint')
    // No foreign key: deleting the image later must not be blocked by (or cascade into) this record.
    .addColumn('image_id', 'text')
    .execute();
  // The sweep walks uploads by expiry.
  await db.schema.createIndex('uploads_expires_at').on('uploads').column('expires_at').execute();
  await db.schema.createIndex('uploads_owner_id').on('uploads').column('owner_id').execute();

  await db.schema
    .createTable('upload_links')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    // The link's system user, which owns every image uploaded through it.
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('max_bytes', 'bigint', (c) => c.notNull())
    .addColumn('max_images', 'integer', (c) => c.notNull())
    .addColumn('used_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('used_images', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // A link's images are its owner's; images are found by owner through this index.
  await db.schema.createIndex('images_owner_id_id').on('images').columns(['owner_id', 'id']).execute();
}
