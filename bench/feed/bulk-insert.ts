/**
 * Bulk inserts of seed chunks, one implementation per database. They bypass Kysely's per-row query
 * building (1.1M rows) but write exactly the rows the adapters' own row mappers produced, typed by
 * src/adapters/metadata/schema.ts, into the tables `store.migrate()` created.
 */
import type { SqliteDatabase, SqliteStatement } from '../../src/adapters/metadata/sqlite-driver.js';
import type pg from 'pg';
import type { SeedChunk } from './seed-plan.js';

type Row = Record<string, unknown>;
const tables = ['users', 'images', 'posts', 'comments'] as const satisfies readonly (keyof SeedChunk)[];

/** A chunk's rows of one table as plain column → value records (the table interfaces have no index signature). */
function rowsOf(chunk: SeedChunk, table: (typeof tables)[number]): readonly Row[] {
  return chunk[table] as readonly object[] as readonly Row[];
}

/**
 * Inserts a chunk into SQLite with one prepared statement per table, in the caller's transaction.
 * better-sqlite3 binds named parameters from the row objects, so column lists come from the rows.
 */
export function sqliteChunkWriter(db: SqliteDatabase): (chunk: SeedChunk) => void {
  const statements = new Map<string, SqliteStatement>();
  const statementFor = (table: string, row: Row): SqliteStatement => {
    let statement = statements.get(table);
    if (!statement) {
      const columns = Object.keys(row);
      statement = db.prepare(`insert into ${table} (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`);
      statements.set(table, statement);
    }
    return statement;
  };
  return db.transaction((chunk: SeedChunk) => {
    for (const table of tables) {
      for (const row of rowsOf(chunk, table)) statementFor(table, row).run(row);
    }
  });
}

/**
 * Inserts a chunk into PostgreSQL: per table, one `INSERT … SELECT FROM unnest($1::type[], …)`
 * with one array parameter per column — a single round trip and plan for thousands of rows, and
 * no 65,535-parameter limit to chunk around. Column types are read from the catalog once.
 */
export async function postgresChunkWriter(client: pg.ClientBase): Promise<(chunk: SeedChunk) => Promise<void>> {
  const { rows } = await client.query<{ table_name: string; column_name: string; data_type: string }>(
    `select table_name, column_name, data_type from information_schema.columns
      where table_schema = current_schema() and table_name = any($1::text[])`,
    [tables],
  );
  const typeOf = new Map(rows.map((row) => [`${row.table_name}.${row.column_name}`, row.data_type]));
  return async (chunk) => {
    for (const table of tables) {
      const tableRows = rowsOf(chunk, table);
      if (tableRows.length === 0) continue;
      const columns = Object.keys(tableRows[0]!);
      const arrays = columns.map((column) => tableRows.map((row) => row[column] ?? null));
      const casts = columns.map((column, n) => {
        const type = typeOf.get(`${table}.${column}`);
        if (!type) throw new Error(`no column ${table}.${column} in the migrated schema`);
        return `$${n + 1}::${type}[]`;
      });
      await client.query(`insert into ${table} (${columns.join(', ')}) select * from unnest(${casts.join(', ')})`, arrays);
    }
  };
}
