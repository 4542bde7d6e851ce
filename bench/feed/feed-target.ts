/**
 * A database under test: the seed (built or reused), a private copy of it for this run, the
 * environment that points the server at the copy, and a sample of real post ids to comment on.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BetterSqlite3 } from '../../src/adapters/metadata/sqlite-driver.js';
import pg from 'pg';
import type { KyselyMetadataStore } from '../../src/adapters/metadata/kysely-metadata-store.js';
import { openPostgresMetadataStore } from '../../src/adapters/metadata/postgres.js';
import { openSqliteMetadataStore } from '../../src/adapters/metadata/sqlite.js';
import { copyPostgresSeed, postgresSeed, postgresUrl, samplePostgresPostIds } from './seed-postgres.js';
import { copySqliteSeed, samplePostIds, sqliteSeed } from './seed-sqlite.js';

/** Comments in the write phases go to this many distinct posts, sampled uniformly. */
const sampledPosts = 5_000;

export interface FeedTarget {
  name: string;
  /** Seconds spent seeding in this run; null when the cached seed was reused. */
  seededSeconds: number | null;
  /** Seconds spent copying the seed for this run. */
  copySeconds: number;
  /** Environment for the server: DATA_DIR (SQLite) or DATABASE_URL (PostgreSQL). */
  serverEnv: Record<string, string>;
  postIds: string[];
  /** PostgreSQL backends connected to the run's database (for their CPU); [] on SQLite. */
  databasePids(): Promise<number[]>;
  /**
   * Running totals read beside the server: the feed version (one bump per post/comment write)
   * and, on PostgreSQL, scans of `posts_feed` — one per feed page rendered on a cache miss
   * (NaN on SQLite, which keeps no such statistics).
   */
  feedCounters(): Promise<{ version: number; pageRenders: number }>;
  /** Opens the run's database in this process. SQLite: only while no server has it open. */
  openStore(onQuery?: (sql: string) => void): KyselyMetadataStore;
  dispose(): Promise<void>;
}

/** The embedded default: a copy of the cached SQLite seed in a fresh data dir. */
export async function sqliteTarget(log: (message: string) => void): Promise<FeedTarget> {
  const seed = await sqliteSeed(log);
  const postIds = samplePostIds(seed.file, sampledPosts);
  const copy = await copySqliteSeed(seed);
  const file = join(copy.dataDir, 'imagegram.sqlite');
  log(`SQLite seed ${(seed.bytes / 2 ** 20).toFixed(0)} MiB copied in ${copy.copySeconds.toFixed(1)} s`);
  return {
    name: 'SQLite (embedded)',
    seededSeconds: seed.seededSeconds,
    copySeconds: copy.copySeconds,
    serverEnv: { DATA_DIR: copy.dataDir },
    postIds,
    databasePids: async () => [],
    async feedCounters() {
      // A read-only connection beside the server's is fine in WAL mode: it never takes the write lock.
      const db = new BetterSqlite3(file, { readonly: true });
      try {
        return { version: db.prepare('select sum(version) from feed_versions').pluck().get() as number, pageRenders: Number.NaN };
      } finally {
        db.close();
      }
    },
    openStore: (onQuery) => openSqliteMetadataStore(file, onQuery ? { onQuery } : {}),
    dispose: copy.remove,
  };
}

/** PostgreSQL: a TEMPLATE copy of `imagegram_bench`, seeded first when absent. */
export async function postgresTarget(log: (message: string) => void): Promise<FeedTarget> {
  const seededSeconds = await postgresSeed(log);
  const postIds = await samplePostgresPostIds(sampledPosts);
  const copy = await copyPostgresSeed();
  log(`PostgreSQL seed copied in ${copy.copySeconds.toFixed(1)} s`);
  const admin = new pg.Client({ connectionString: postgresUrl('postgres') });
  await admin.connect();
  const database = new URL(copy.url).pathname.slice(1);
  return {
    name: 'PostgreSQL',
    seededSeconds,
    copySeconds: copy.copySeconds,
    serverEnv: { DATABASE_URL: copy.url },
    postIds,
    async databasePids() {
      const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database]);
      return rows.map((row) => row.pid);
    },
    async feedCounters() {
      // Backends flush their statistics at most once a second (PostgreSQL 15): wait that out.
      await sleep(1_100);
      const run = new pg.Client({ connectionString: copy.url });
      await run.connect();
      try {
        const { rows } = await run.query<{ version: number; scans: string }>(
          `select (select sum(version) from feed_versions) as version,
                  (select idx_scan from pg_stat_user_indexes where indexrelname = 'posts_feed') as scans`,
        );
        return { version: Number(rows[0]!.version), pageRenders: Number(rows[0]!.scans) };
      } finally {
        await run.end();
      }
    },
    openStore: (onQuery) => openPostgresMetadataStore(copy.url, onQuery ? { onQuery } : {}),
    async dispose() {
      await admin.end();
      await copy.drop();
    },
  };
}
