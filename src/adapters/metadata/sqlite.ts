import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  Kysely,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import { KyselyMetadataStore } from './kysely-metadata-store.js';
import { errorCode, type MetadataDialect } from './metadata-dialect.js';
import type { Database } from './schema.js';
import { reportingUnavailableStorage } from './storage-unavailable-dialect.js';

/**
 * Opens (creating it and its directory if needed) the embedded metadata store: one SQLite file,
 * one better-sqlite3 connection. The file is opened on first use, so a missing or unwritable
 * location surfaces as STORAGE_UNAVAILABLE from `ping()`/`migrate()`, like a down server would.
 * Open one store per file per process: better-sqlite3 waits for another connection's lock
 * synchronously, blocking the very event loop that would let that connection finish.
 */
export function openSqliteMetadataStore(file: string): KyselyMetadataStore {
  const dialect = new ImmediateTransactionSqliteDialect({
    database: async () => openDatabase(file),
  });
  const db = new Kysely<Database>({
    dialect: reportingUnavailableStorage(dialect, sqliteDialect.isUnavailable),
  });
  return new KyselyMetadataStore(db, sqliteDialect);
}

function openDatabase(file: string): BetterSqlite3.Database {
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
  database.pragma('busy_timeout = 5000');
  return database;
}

const unavailableCodes = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
  'SQLITE_FULL',
];
// Only creating the parent directory raises node:fs codes (EEXIST: a file is in its place).
const unavailableFsCodes = ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR', 'EEXIST'];

/** The SQLite half of the dialect differences; its twin is `postgresDialect` in postgres.ts. */
export const sqliteDialect: MetadataDialect = {
  name: 'sqlite',
  // INTEGER PRIMARY KEY is the rowid; AUTOINCREMENT forbids reusing the largest one after a
  // delete (https://sqlite.org/autoinc.html), so positions only ever grow.
  identityType: 'integer',
  identityColumn: (column) => column.primaryKey().autoIncrement(),
  isUnavailable(error) {
    const code = errorCode(error);
    if (code === undefined) return false;
    // better-sqlite3 reports extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_FSYNC, …).
    return (
      unavailableCodes.some((prefix) => code === prefix || code.startsWith(`${prefix}_`)) ||
      unavailableFsCodes.includes(code)
    );
  },
  // One connection, and BEGIN IMMEDIATE takes the write lock up front: writers are serialised,
  // so positions already become visible in order.
  lockEventLog: async () => {},
};

/**
 * Kysely's SQLite dialect with two changes:
 * - transactions start with BEGIN IMMEDIATE: a deferred BEGIN that reads and then writes fails
 *   with SQLITE_BUSY, without waiting out busy_timeout, when another process wrote in between
 *   (https://sqlite.org/lang_transaction.html, "read transactions" upgrading to write);
 * - migrations run in a transaction: SQLite's DDL is transactional, so a crash mid-migration
 *   leaves nothing half-made, and a second process waits for the first instead of racing it.
 */
class ImmediateTransactionSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateTransactionSqliteDriver(this.#config);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

class ImmediateTransactionSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
