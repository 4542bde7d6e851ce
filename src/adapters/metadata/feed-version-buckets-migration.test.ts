import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BetterSqlite3 } from './sqlite-driver.js';
import { type Dialect, Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { createThrowawayPostgresDatabase } from '../../../test/support/postgres.js';
import { anEvent } from '../../ports/metadata-store.support.contract.js';
import type { MetadataStore } from '../../ports/metadata-store.js';
import type { MetadataDialect } from './metadata-dialect.js';
import { metadataMigrations } from './migrations.js';
import { openPostgresMetadataStore, postgresDialect } from './postgres.js';
import { eventToRow } from './row-mapping.js';
import { openSqliteMetadataStore, sqliteDialect } from './sqlite.js';

// Migration 0007 replaces the single feed_state row: that needs a database left at 0005 with a
// version already counted, which the port cannot make, so this drives Kysely's Migrator directly.

/** A database at 0005 whose feed version is 41 and whose log holds 3 events. */
async function seedAt0005(db: Kysely<unknown>, dialect: MetadataDialect): Promise<void> {
  const migrator = new Migrator({ db, provider: metadataMigrations(dialect) });
  const { error } = await migrator.migrateTo('0005_operations');
  if (error !== undefined) throw error;
  await sql`update feed_state set version = 41 where id = 1`.execute(db);
  const event = eventToRow(anEvent('before'), 1_700_000_000_000);
  for (let i = 0; i < 3; i++) {
    await sql`insert into events (type, actor_id, subject_id, at, payload) values (${event.type}, null, ${event.subject_id}, ${event.at}, ${event.payload})`.execute(
      db,
    );
  }
}

async function assertUpgraded(store: MetadataStore): Promise<void> {
  await store.migrate();
  // The version carries on from where it was: cache keys of the old version are never reused.
  assert.equal(await store.feed.version(), 41);
  await Promise.all(Array.from({ length: 10 }, () => store.transaction((tx) => tx.feed.bump())));
  assert.equal(await store.feed.version(), 51);
  // The log continues after the events already there, and readers see them all.
  assert.equal(await store.events.lastPosition(), 3);
  const [next] = await store.events.append(anEvent('after'));
  assert.equal(next!.position, 4);
  assert.deepEqual(
    (await store.events.list(0, 10)).map((e) => e.subjectId),
    ['before', 'before', 'before', 'after'],
  );
}

async function withKysely(dialect: Dialect, work: (db: Kysely<unknown>) => Promise<void>): Promise<void> {
  const db = new Kysely<unknown>({ dialect });
  try {
    await work(db);
  } finally {
    await db.destroy();
  }
}

describe('migration 0007_feed_version_buckets', () => {
  test('SQLite: the feed version and the event log carry on across the upgrade', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imagegram-migration-'));
    try {
      const file = join(dir, 'metadata.sqlite');
      await withKysely(new SqliteDialect({ database: new BetterSqlite3(file) }), (db) => seedAt0005(db, sqliteDialect));
      const store = openSqliteMetadataStore(file);
      await assertUpgraded(store).finally(() => store.close());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL: the feed version and the event log carry on across the upgrade', async (t) => {
    const database = await createThrowawayPostgresDatabase();
    if (database === null) return t.skip('PostgreSQL not reachable');
    try {
      await withKysely(new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url }) }), (db) => seedAt0005(db, postgresDialect));
      const store = openPostgresMetadataStore(database.url);
      await assertUpgraded(store).finally(() => store.close());
    } finally {
      await database.drop();
    }
  });
});
