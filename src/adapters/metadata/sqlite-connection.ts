import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BetterSqlite3, type SqliteDatabase } from './sqlite-driver.js';

/** How long a connection waits for another one's lock before SQLITE_BUSY. */
const busyTimeoutMs = 5000;

/**
 * Opens (creating it and its directory if needed) the store's one writing connection. It runs
 * on the writer thread (sqlite-writer-thread.ts), so its COMMIT fsyncs and WAL checkpoints never
 * stall the event loop.
 */
export function openWriterConnection(file: string): SqliteDatabase {
  mkdirSync(dirname(file), { recursive: true });
  const database = new BetterSqlite3(file);
  // WAL: readers never block the writer (https://sqlite.org/wal.html).
  database.pragma('journal_mode = WAL');
  // better-sqlite3 is built with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1, so a WAL database would
  // otherwise run NORMAL: a commit survives kill -9 but "might roll back following a power loss"
  // (https://sqlite.org/pragma.html#pragma_synchronous). The port promises a resolved
  // transaction is durable, power cut included: FULL, one fsync per commit.
  database.pragma('synchronous = FULL');
  // Off by default in SQLite for backwards compatibility (https://sqlite.org/foreignkeys.html).
  database.pragma('foreign_keys = ON');
  // Another process (the CLI, a second server) may hold the write lock: wait, then SQLITE_BUSY.
  database.pragma(`busy_timeout = ${busyTimeoutMs}`);
  return database;
}

/**
 * Opens a read-only connection to the file the writer has opened (and so created): reads
 * outside transactions run on it, on the event loop, beside the writer (WAL readers see the last
 * commit and never wait for the writer). Read-only, it never commits, so it never checkpoints.
 */
export function openReaderConnection(file: string): SqliteDatabase {
  const database = new BetterSqlite3(file, { readonly: true });
  // Waits out only the rare moments a reader must (another process recovering the WAL index).
  database.pragma(`busy_timeout = ${busyTimeoutMs}`);
  return database;
}
