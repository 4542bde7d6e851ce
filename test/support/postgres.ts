import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactUrl } from './redact-url.js';

const defaultUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
let warnedUnreachable = false;

export interface ThrowawayDatabase {
  url: string;
  drop(): Promise<void>;
}

/** True for the CI PostgreSQL run (`TEST_DATABASE=postgres`): suites use PostgreSQL, not SQLite. */
export function isPostgresRequested(): boolean {
  return process.env.TEST_DATABASE === 'postgres';
}

/**
 * A connection to the server of `TEST_POSTGRES_URL` (default: the local dev server), and that URL.
 * Null, after one loud line on stderr, when the default server is unreachable. When
 * `TEST_POSTGRES_URL` is set an unreachable server throws instead: CI must never silently skip.
 */
async function connectToServer(): Promise<{ admin: pg.Client; baseUrl: string } | null> {
  const requiredUrl = process.env.TEST_POSTGRES_URL || undefined;
  const baseUrl = requiredUrl ?? defaultUrl;
  const admin = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (requiredUrl !== undefined) {
      const message = `TEST_POSTGRES_URL (${redactUrl(baseUrl)}) is not reachable: ${reason}`;
      throw new Error(message, { cause: error });
    }
    if (!warnedUnreachable) {
      warnedUnreachable = true;
      process.stderr.write(
        `!!! PostgreSQL not reachable at ${redactUrl(baseUrl)} (${reason}): ` + 'skipping PostgreSQL runs (set TEST_POSTGRES_URL to require them)\n',
      );
    }
    return null;
  }
  return { admin, baseUrl };
}

/**
 * The URL of the test PostgreSQL server (see connectToServer), for tests that need a server but no
 * database of their own: creating and dropping one costs a checkpoint. Null when unreachable and not required.
 */
export async function reachablePostgresUrl(): Promise<string | null> {
  const server = await connectToServer();
  await server?.admin.end();
  return server?.baseUrl ?? null;
}

/**
 * Creates an empty database `imagegram_test_<random hex>` on the test server (see connectToServer)
 * and returns its URL; `drop()` removes it, connections and all. Null when the server is
 * unreachable and not required.
 */
export async function createThrowawayPostgresDatabase(): Promise<ThrowawayDatabase | null> {
  const server = await connectToServer();
  if (server === null) return null;
  const { admin, baseUrl } = server;

  const name = `imagegram_test_${randomBytes(6).toString('hex')}`;
  try {
    // Identifiers cannot be bound as parameters; `name` is ours and hex-only.
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 3_000 });
      await client.connect();
      try {
        // FORCE (PostgreSQL 13+) ends connections a test left open instead of failing.
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A throwaway database migrated once, that `reset()` returns to its just-migrated state. */
export interface ResettableDatabase extends ThrowawayDatabase {
  /** Ends every other connection to it, then empties every table but for the rows migrations wrote. */
  reset(): Promise<void>;
}

/**
 * A throwaway database (see createThrowawayPostgresDatabase) on which `migrate` ran once, for the
 * tests of one file to share. `reset()` between tests DELETEs the few rows a test wrote, in one
 * round trip: a database per test costs a migration and a DROP DATABASE (which waits for a
 * checkpoint), and TRUNCATE replaces every table's and index's files — each far slower on a busy host.
 * Null when the server is unreachable and not required.
 */
export async function createResettablePostgresDatabase(migrate: (url: string) => Promise<void>): Promise<ResettableDatabase | null> {
  const database = await createThrowawayPostgresDatabase();
  if (database === null) return null;
  let client: pg.Client | undefined;
  try {
    await migrate(database.url);
    client = new pg.Client({ connectionString: database.url, connectionTimeoutMillis: 3_000 });
    await client.connect();
    const admin = client;
    const resetScript = await resetScriptOf(admin);
    return {
      url: database.url,
      async reset() {
        await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
        await admin.query(resetScript);
      },
      async drop() {
        await admin.end();
        await database.drop();
      },
    };
  } catch (error) {
    await client?.end();
    await database.drop();
    throw error;
  }
}

/** SQL that empties a just-migrated database's tables and writes back what the migrations wrote. */
async function resetScriptOf(client: pg.Client): Promise<string> {
  // Kysely's own bookkeeping stays: the schema it records is still there.
  const { rows: tables } = await client.query<{ name: string }>(
    `select quote_ident(tablename) as name from pg_tables where schemaname = current_schema() and tablename not like 'kysely_migration%'`,
  );
  const { rows: references } = await client.query<{ child: string; parent: string }>(
    `select quote_ident(c.relname) as child, quote_ident(p.relname) as parent from pg_constraint
       join pg_class c on c.oid = conrelid join pg_class p on p.oid = confrelid
      where contype = 'f' and conrelid <> confrelid`,
  );
  // Children before the tables they reference, so no foreign key ever blocks a DELETE.
  const order: string[] = [];
  const pending = new Set(tables.map((t) => t.name));
  while (pending.size > 0) {
    const ready = [...pending].filter((table) => !references.some((r) => r.parent === table && pending.has(r.child)));
    if (ready.length === 0) throw new Error(`foreign keys form a cycle among ${[...pending].join(', ')}`);
    for (const table of ready.sort()) {
      order.push(table);
      pending.delete(table);
    }
  }
  const statements = ['begin', 'set local synchronous_commit = off', ...order.map((table) => `delete from ${table}`)];
  // Rows the migrations inserted (counters, singletons).
  for (const table of [...order].reverse()) {
    const { rows } = await client.query<{ rows: string }>(`select coalesce(json_agg(t), '[]')::text as rows from ${table} t`);
    if (rows[0]!.rows === '[]') continue;
    statements.push(
      `insert into ${table} overriding system value select * from json_populate_recordset(null::${table}, ${client.escapeLiteral(rows[0]!.rows)})`,
    );
  }
  const { rows: sequences } = await client.query<{ name: string; start: string; last: string | null }>(
    `select quote_ident(schemaname) || '.' || quote_ident(sequencename) as name, start_value::text as start, last_value::text as last
       from pg_sequences where schemaname = current_schema()`,
  );
  for (const { name, start, last } of sequences) {
    statements.push(`select setval(${client.escapeLiteral(name)}, ${last ?? start}, ${last !== null})`);
  }
  statements.push('commit');
  return statements.join(';\n');
}
