import type { SqliteDatabase as KyselySqliteDatabase } from 'kysely';
import type { SqliteDatabase, SqliteStatement } from './sqlite-driver.js';

/**
 * `database` as Kysely's SQLite driver sees it, but preparing each distinct SQL text once:
 * Kysely prepares every query afresh, which costs about as much as running a small one, and
 * group commit runs thousands of the same few statements a second on one thread.
 * At most `capacity` statements are kept (least recently used goes first): texts that vary with
 * a list's length would otherwise grow the cache without bound.
 */
export function cachingStatements(database: SqliteDatabase, capacity = 256): KyselySqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => database.close(),
    prepare(sql) {
      const cached = statements.get(sql);
      // A statement still being iterated (Kysely's streamQuery) cannot run again until done.
      if (cached !== undefined && !cached.busy) {
        // Re-inserting moves it to the back: Map keeps insertion order.
        statements.delete(sql);
        statements.set(sql, cached);
        return cached;
      }
      const statement = database.prepare(sql);
      if (cached === undefined) {
        statements.set(sql, statement);
        if (statements.size > capacity) statements.delete(statements.keys().next().value as string);
      }
      return statement;
    },
  };
}
