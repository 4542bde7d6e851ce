/**
 * The seeded PostgreSQL database `imagegram_bench` (or `BENCH_POSTGRES_DB`), built once and used
 * as a TEMPLATE: every run gets its own file-level copy (`<name>_run`), so runs never see each
 * other's writes and the seed never bloats with their dead tuples.
 */
import pg from 'pg';
import { metadataMigrations } from '../../src/adapters/metadata/migrations.js';
import { openPostgresMetadataStore, postgresDialect } from '../../src/adapters/metadata/postgres.js';
import { postgresChunkWriter } from './bulk-insert.js';
import { seedChunks, seedVersion } from './seed-plan.js';

/** The server to seed (`BENCH_POSTGRES_URL`, default the local dev server as the postgres user). */
const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/**
 * The seed database's name (`BENCH_POSTGRES_DB`, default `imagegram_bench`; lower-case letters,
 * digits and `_`): benches that run at the same time on one server each take their own, so no
 * run drops another's copy; also to measure a checkout of an older schema beside this one
 * (`BENCH_POSTGRES_SEED` is an older name for it). Each run's copy is `<name>_run`.
 */
const seedName = process.env.BENCH_POSTGRES_DB ?? process.env.BENCH_POSTGRES_SEED ?? 'imagegram_bench';
if (!/^[a-z_][a-z0-9_]{0,40}$/.test(seedName)) throw new Error(`BENCH_POSTGRES_DB must be a plain lower-case identifier, not ${JSON.stringify(seedName)}`);
const runName = `${seedName}_run`;

/** The URL of database `name` on the bench server. */
export function postgresUrl(name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** What the seed database's comment records: the seed version and the migrations it was built with. */
async function expectedFingerprint(): Promise<string> {
  const migrations = Object.keys(await metadataMigrations(postgresDialect).getMigrations()).sort();
  return `imagegram feed bench seed v${seedVersion}; migrations ${migrations.join(',')}`;
}

/** Runs `work` with a client on the server's maintenance database. */
async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Makes sure `imagegram_bench` holds the current seed, building it when absent or stale; returns
 * the seconds seeding took, or null when the existing database was reused. Built as
 * `imagegram_bench_seeding` and renamed when complete, so an interrupted run leaves no half seed.
 */
export async function postgresSeed(log: (message: string) => void): Promise<number | null> {
  const fingerprint = await expectedFingerprint();
  const current = await withAdmin(async (admin) => {
    const { rows } = await admin.query<{ comment: string | null }>(
      `select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1`,
      [seedName],
    );
    return rows[0]?.comment ?? null;
  });
  if (current === fingerprint) return null;

  const started = performance.now();
  const building = `${seedName}_seeding`;
  log(`seeding PostgreSQL database ${seedName} (${current === null ? 'absent' : 'stale'}) …`);
  await withAdmin(async (admin) => {
    // Names are ours, constant and identifier-safe; they cannot be bound as parameters.
    await admin.query(`drop database if exists ${building} with (force)`);
    await admin.query(`create database ${building}`);
  });
  const store = openPostgresMetadataStore(postgresUrl(building));
  await store.migrate();
  await store.close();

  const client = new pg.Client({ connectionString: postgresUrl(building) });
  await client.connect();
  try {
    // The database is thrown away if seeding fails, so commits need not wait for the WAL flush.
    await client.query('set synchronous_commit = off');
    const write = await postgresChunkWriter(client);
    let written = 0;
    for await (const chunk of seedChunks()) {
      await write(chunk);
      written += chunk.users.length + chunk.images.length + chunk.posts.length + chunk.comments.length;
      if (written % 200_000 < 20_000) log(`  ${written.toLocaleString('en')} rows`);
    }
    // What autovacuum would do soon after a bulk load: planner statistics and a visibility map.
    await client.query('vacuum analyze');
  } finally {
    await client.end();
  }
  await withAdmin(async (admin) => {
    await admin.query(`drop database if exists ${seedName} with (force)`);
    await admin.query(`alter database ${building} rename to ${seedName}`);
    await admin.query(`comment on database ${seedName} is ${pg.escapeLiteral(fingerprint)}`);
  });
  const seconds = (performance.now() - started) / 1000;
  log(`seeded ${seedName} in ${seconds.toFixed(1)} s`);
  return seconds;
}

/** A fresh copy of the seed for one run (FILE_COPY: a checkpoint and a file copy, no WAL of its contents). */
export async function copyPostgresSeed(): Promise<{ url: string; copySeconds: number; drop(): Promise<void> }> {
  const started = performance.now();
  await withAdmin(async (admin) => {
    await admin.query(`drop database if exists ${runName} with (force)`);
    await admin.query(`create database ${runName} template ${seedName} strategy file_copy`);
  });
  return {
    url: postgresUrl(runName),
    copySeconds: (performance.now() - started) / 1000,
    drop: () => withAdmin(async (admin) => void (await admin.query(`drop database if exists ${runName} with (force)`))),
  };
}

/** Up to `count` post ids, uniformly sampled from the seed. */
export async function samplePostgresPostIds(count: number): Promise<string[]> {
  const client = new pg.Client({ connectionString: postgresUrl(seedName) });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>('select id from posts order by random() limit $1', [count]);
    return rows.map((row) => row.id);
  } finally {
    await client.end();
  }
}
