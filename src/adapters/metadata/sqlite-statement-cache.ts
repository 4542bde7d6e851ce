import type { SqliteDatabase as KyselySqliteDatabase, SqliteStatement as KyselySqliteStatement } from 'kysely';
import type { SqliteDatabase, SqliteStatement } from './sqlite-driver.js';

interface Cached {
  statement: SqliteStatement;
  /** What Kysely is handed: the statement itself, or for one that writes, a wrapper that says so. */
  forKysely: KyselySqliteStatement;
}

/**
 * `database` as Kysely's SQLite driver sees it, but preparing each distinct SQL text once:
 * Kysely prepares every query afresh, which costs about as much as running a small one, and
 * group commit runs thousands of the same few statements a second on one thread.
 * At most `capacity` statements are kept (least recently used goes first): texts that vary with
 * a list's length would otherwise grow the cache without bound.
 * `onWrite` is called as any statement that may write (SQLite's `sqlite3_stmt_readonly`) runs.
 */
export function cachingStatements(database: SqliteDatabase, onWrite: () => void = () => {}, capacity = 256): KyselySqliteDatabase {
  const statements = new Map<string, Cached>();
  return {
    close: () => database.close(),
    prepare(sql) {
      const cached = statements.get(sql);
      // A statement still being iterated (Kysely's streamQuery) cannot run again until done.
      if (cached !== undefined && !cached.statement.busy) {
        // Re-inserting moves it to the back: Map keeps insertion order.
        statements.delete(sql);
        statements.set(sql, cached);
        return cached.forKysely;
      }
      const statement = database.prepare(sql);
      const fresh = { statement, forKysely: statement.readonly ? statement : reportingWrites(statement, onWrite) };
      if (cached === undefined) {
        statements.set(sql, fresh);
        if (statements.size > capacity) statements.delete(statements.keys().next().value as string);
      }
      return fresh.forKysely;
    },
  };
}

function reportingWrites(statement: SqliteStatement, onWrite: () => void): KyselySqliteStatement {
  return {
    // INSERT … RETURNING is a reader that writes.
    reader: statement.reader,
    all(parameters) {
      onWrite();
      return statement.all(parameters);
    },
    run(parameters) {
      onWrite();
      return statement.run(parameters);
    },
    iterate(parameters) {
      onWrite();
      return statement.iterate(parameters);
    },
  };
}
