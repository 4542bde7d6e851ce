import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BetterSqlite3 } from './sqlite-driver.js';
import { type Dialect, Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { createThrowawayPostgresDatabase } from '../../../test/support/postgres.js';
import { anImage, aUser } from '../../ports/metadata-store.support.contract.js';
import type { MetadataStore } from '../../ports/metadata-store.js';
import type { MetadataDialect } from './metadata-dialect.js';
import { metadataMigrations } from './migrations.js';
import { openPostgresMetadataStore, postgresDialect } from './postgres.js';
import { eventToRow, imageToRow, userToRow } from './row-mapping.js';
import type { Database } from './schema.js';
import { openSqliteMetadataStore, sqliteDialect } from './sqlite.js';

// Migration 0005 carries existing images over: that needs a database left at 0004, which the
// port cannot make, so this drives Kysely's Migrator directly and then checks through the store.

const owner = aUser();
const other = aUser();
// 1_700_006_400_000 is 2023-11-15T00:00:00Z: the day boundary must fall the same on both databases.
const shared = anImage(owner.id, { createdAt: 1_700_006_399_999, size: 1_000 });
const images = [
  shared,
  anImage(other.id, { sha256: shared.sha256, size: 1_000, createdAt: 1_700_006_400_000, cameraModel: 'X100V' }),
  anImage(owner.id, { format: 'png', createdAt: 1_700_050_000_000, cameraModel: null, status: 'ready', uploadCompletedAt: 1_700_050_000_001 }),
];

/** Fills a database migrated to 0004 the way the previous version would have. */
async function seedAt0004(db: Kysely<Database>, dialect: MetadataDialect): Promise<void> {
  const migrator = new Migrator({ db, provider: metadataMigrations(dialect) });
  const { error } = await migrator.migrateTo('0004_uploads');
  if (error !== undefined) throw error;
  await db
    .insertInto('users')
    .values([userToRow(owner), userToRow(other)])
    .execute();
  for (const image of images) {
    // Without the column 0005 adds; the schema type describes the latest version.
    const { metadata_extracted_at: _added, share_location: _later, share_taken_at: _laterToo, ...row } = imageToRow(image);
    await db
      .insertInto('images')
      .values(row as never)
      .execute();
  }
  const event = { type: 'ImageCreated', actorId: null, subjectId: 'x', payload: {} } as const;
  for (let i = 0; i < 3; i++) await db.insertInto('events').values(eventToRow(event, 1_700_000_000_000)).execute();
}

async function assertCarriedOver(store: MetadataStore): Promise<void> {
  await store.migrate();
  assert.deepEqual(await store.blobRecords.find(shared.sha256), {
    sha256: shared.sha256,
    size: 1_000,
    state: 'live',
    createdAt: 1_700_006_399_999,
    unreferencedSince: null,
    missingSince: null,
    stateChangedAt: 1_700_006_399_999,
  });
  assert.equal(await store.blobRecords.count(), 2);
  assert.deepEqual((await store.blobRecords.listReferenced(null, 10)).length, 2);
  assert.deepEqual(await store.stats.top('format', 10), [
    { value: 'jpeg', uploads: 2 },
    { value: 'png', uploads: 1 },
  ]);
  assert.deepEqual(await store.stats.top('camera_model', 10), [
    { value: 'X-T4', uploads: 1 },
    { value: 'X100V', uploads: 1 },
  ]);
  const days = await store.stats.values('day', ['2023-11-14', '2023-11-15', '2023-11-16']);
  assert.deepEqual(
    days.sort((a, b) => (a.value < b.value ? -1 : 1)),
    [
      { value: '2023-11-14', uploads: 1 },
      { value: '2023-11-15', uploads: 2 },
    ],
  );
  // The projection starts after the events that were already there: they are counted above.
  assert.equal(await store.stats.checkpoint(), 3);
  for (const image of images) {
    assert.deepEqual(await store.images.findById(image.id), { ...image, metadataExtractedAt: image.createdAt });
  }
  // Deleting the last image of a carried-over blob marks it like any other.
  await store.images.delete(images[2]!.id, 1_700_100_000_000);
  assert.equal((await store.blobRecords.find(images[2]!.sha256))?.unreferencedSince, 1_700_100_000_000);
}

async function withKysely(dialect: Dialect, work: (db: Kysely<Database>) => Promise<void>): Promise<void> {
  const db = new Kysely<Database>({ dialect });
  try {
    await work(db);
  } finally {
    await db.destroy();
  }
}

describe('migration 0005_operations', () => {
  test('SQLite: blob records, stats counters and the checkpoint come from the images already there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imagegram-migration-'));
    try {
      const file = join(dir, 'metadata.sqlite');
      const database = new BetterSqlite3(file);
      database.pragma('foreign_keys = ON');
      await withKysely(new SqliteDialect({ database }), (db) => seedAt0004(db, sqliteDialect));
      const store = openSqliteMetadataStore(file);
      await assertCarriedOver(store).finally(() => store.close());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL: blob records, stats counters and the checkpoint come from the images already there', async (t) => {
    const database = await createThrowawayPostgresDatabase();
    if (database === null) return t.skip('PostgreSQL not reachable');
    try {
      const pool = new pg.Pool({ connectionString: database.url });
      await withKysely(new PostgresDialect({ pool }), (db) => seedAt0004(db, postgresDialect));
      const store = openPostgresMetadataStore(database.url);
      await assertCarriedOver(store).finally(() => store.close());
    } finally {
      await database.drop();
    }
  });
});
