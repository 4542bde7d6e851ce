/**
 * The seeded SQLite file, built once into `.bench-data/` (gitignored) and copied into a fresh data
 * dir for every run, so a run never pays seeding and never sees an earlier run's writes.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BetterSqlite3 } from '../../src/adapters/metadata/sqlite-driver.js';
import { metadataMigrations } from '../../src/adapters/metadata/migrations.js';
import { openSqliteMetadataStore, sqliteDialect } from '../../src/adapters/metadata/sqlite.js';
import { sqliteChunkWriter } from './bulk-insert.js';
import { seedChunks, seedVersion } from './seed-plan.js';

const cacheDir = fileURLToPath(new URL('../../.bench-data/', import.meta.url));

/** The code's migration names, sorted: what a cached seed must have been built with. */
async function migrationNames(): Promise<string[]> {
  return Object.keys(await metadataMigrations(sqliteDialect).getMigrations()).sort();
}

/**
 * One cache file per seed version and migration list, so trees on different schemas (a branch,
 * a snapshot of HEAD) keep their own seed instead of rebuilding each other's.
 */
async function cacheFileName(): Promise<string> {
  const schema = createHash('sha256')
    .update((await migrationNames()).join('\n'))
    .digest('hex')
    .slice(0, 8);
  return join(cacheDir, `feed-100k-v${seedVersion}-${schema}.sqlite`);
}

/** Where the seed is and, when this call had to build it, how long that took. */
export interface SqliteSeed {
  file: string;
  /** Seconds spent seeding now; null when the cached file was reused. */
  seededSeconds: number | null;
  bytes: number;
}

/**
 * Returns the cached seed, rebuilding it when absent or when its recorded migrations differ from
 * the code's (a schema change makes an old seed meaningless). Built under a temporary name and
 * renamed at the end, so an interrupted seeding never leaves a half-filled cache behind.
 */
export async function sqliteSeed(log: (message: string) => void): Promise<SqliteSeed> {
  const cacheFile = await cacheFileName();
  if (await isCurrent(cacheFile)) return { file: cacheFile, seededSeconds: null, bytes: (await stat(cacheFile)).size };
  await mkdir(cacheDir, { recursive: true });
  const building = `${cacheFile}.seeding`;
  await removeDatabase(building);
  const started = performance.now();
  log(`seeding ${building} (first run only) …`);
  const store = openSqliteMetadataStore(building);
  await store.migrate();
  await store.close();

  const db = new BetterSqlite3(building);
  // Throwaway until renamed: no journal, no fsync, a big page cache for the random-order
  // inserts into comments_post_id_id. The server re-applies its own pragmas when it opens it.
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1000000');
  const write = sqliteChunkWriter(db);
  let written = 0;
  for await (const chunk of seedChunks()) {
    write(chunk);
    written += chunk.users.length + chunk.images.length + chunk.posts.length + chunk.comments.length;
    if (written % 200_000 < 20_000) log(`  ${written.toLocaleString('en')} rows`);
  }
  db.pragma('journal_mode = WAL');
  db.close();
  await rename(building, cacheFile);
  const seededSeconds = (performance.now() - started) / 1000;
  log(`seeded in ${seededSeconds.toFixed(1)} s`);
  return { file: cacheFile, seededSeconds, bytes: (await stat(cacheFile)).size };
}

/** True when `file` exists and has exactly the migrations the code defines. */
async function isCurrent(file: string): Promise<boolean> {
  try {
    await stat(file);
  } catch {
    return false;
  }
  const expected = await migrationNames();
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const names = db.prepare('select name from kysely_migration order by name').pluck().all() as string[];
    return JSON.stringify(names) === JSON.stringify(expected);
  } catch {
    return false;
  } finally {
    db.close();
  }
}

/** Up to `count` post ids, uniformly sampled from the seed (read before a server opens a copy). */
export function samplePostIds(file: string, count: number): string[] {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return db.prepare('select id from posts order by random() limit ?').pluck().all(count) as string[];
  } finally {
    db.close();
  }
}

/** A fresh data dir holding a copy of the seed as the server's default `imagegram.sqlite`. */
export async function copySqliteSeed(seed: SqliteSeed): Promise<{ dataDir: string; copySeconds: number; remove(): Promise<void> }> {
  const started = performance.now();
  const dataDir = await mkdtemp(join(tmpdir(), 'imagegram-feed-bench-'));
  // A reflink where the filesystem can, else a plain copy.
  await copyFile(seed.file, join(dataDir, 'imagegram.sqlite'), constants.COPYFILE_FICLONE);
  return { dataDir, copySeconds: (performance.now() - started) / 1000, remove: () => rm(dataDir, { recursive: true, force: true }) };
}

async function removeDatabase(file: string): Promise<void> {
  await Promise.all(['', '-wal', '-shm', '-journal'].map((suffix) => rm(`${file}${suffix}`, { force: true })));
}
