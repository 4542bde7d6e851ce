import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { AppError } from '../../core/errors.js';
import { storageFailure } from '../storage-failures.js';

/**
 * Wraps a Kysely dialect so that every driver error meaning "the database is unreachable or busy"
 * surfaces as AppError('STORAGE_UNAVAILABLE') (the port's promise), whichever query, transaction
 * step or migration hit it; a full disk (SQLITE_FULL, ENOSPC, PostgreSQL's disk_full) as
 * STORAGE_FULL and descriptor exhaustion as SERVER_BUSY, so clients see the same answer as when
 * staging or the blob store hit it first. Other errors pass through untouched: they are bugs.
 */
export function reportingUnavailableStorage(dialect: Dialect, isUnavailable: (error: unknown) => boolean): Dialect {
  const translate = (error: unknown): unknown => {
    const specific = storageFailure(error);
    if (specific) return specific;
    if (!isUnavailable(error)) return error;
    const unavailable = new AppError('STORAGE_UNAVAILABLE', 'The metadata database is unavailable');
    unavailable.cause = error;
    return unavailable;
  };
  return {
    createDriver: () => new TranslatingDriver(dialect.createDriver(), translate),
    createQueryCompiler: (): QueryCompiler => dialect.createQueryCompiler(),
    createAdapter: (): DialectAdapter => dialect.createAdapter(),
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface declares it so.
    createIntrospector: (db: Kysely<any>): DatabaseIntrospector => dialect.createIntrospector(db),
  };
}

type Translate = (error: unknown) => unknown;

async function translated<T>(translate: Translate, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw translate(error);
  }
}

class TranslatingDriver implements Driver {
  // Kysely hands our connection objects back to begin/commit/release: map them to the inner ones,
  // keeping one wrapper per inner connection so Kysely's identity checks still hold.
  readonly #wrappers = new WeakMap<DatabaseConnection, TranslatingConnection>();

  constructor(
    private readonly inner: Driver,
    private readonly translate: Translate,
  ) {}

  init(): Promise<void> {
    return translated(this.translate, () => this.inner.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await translated(this.translate, () => this.inner.acquireConnection());
    let wrapper = this.#wrappers.get(connection);
    if (wrapper === undefined) {
      wrapper = new TranslatingConnection(connection, this.translate);
      this.#wrappers.set(connection, wrapper);
    }
    return wrapper;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return translated(this.translate, () => this.inner.beginTransaction(unwrap(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return translated(this.translate, () => this.inner.commitTransaction(unwrap(connection)));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.inner.rollbackTransaction(unwrap(connection));
    } catch (error) {
      // SQLite rolls a transaction back by itself on SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY or
      // SQLITE_NOMEM (https://sqlite.org/lang_transaction.html, "Response To Errors Within A
      // Transaction"); Kysely's ROLLBACK then fails and its error would replace the one that
      // matters (a full disk became a 500). The rollback the caller wanted has happened.
      if (alreadyRolledBack(error)) return;
      throw this.translate(error);
    }
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    // SQLite makes commits durable as it hands the connection back (WalCommits).
    return translated(this.translate, () => this.inner.releaseConnection(unwrap(connection)));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

class TranslatingConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly translate: Translate,
  ) {}

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return translated(this.translate, () => this.inner.executeQuery<R>(compiledQuery));
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(compiledQuery, chunkSize);
    } catch (error) {
      throw this.translate(error);
    }
  }
}

function alreadyRolledBack(error: unknown): boolean {
  return error instanceof Error && /cannot rollback - no transaction is active/.test(error.message);
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof TranslatingConnection ? connection.inner : connection;
}
