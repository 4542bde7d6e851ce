import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { deserializeError, withBuffers, type WriterReady, type WriterReply, type WriterRequest, type WriterThreadData } from './sqlite-writer-protocol.js';

/** The code of the error every query gets once the writer thread is gone (mapped to STORAGE_UNAVAILABLE). */
export const writerGoneCode = 'SQLITE_WRITER_GONE';

/**
 * A new thread running sqlite-writer-thread. Built, it is JavaScript beside this module. Under tsx
 * (tests, the benches) both are TypeScript, and on Node 20 a worker does not inherit the
 * parent's `--import tsx`: the thread registers tsx itself before loading the module.
 */
function startThread(workerData: WriterThreadData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./sqlite-writer-thread.js', import.meta.url), { workerData });
  const thread = new URL('./sqlite-writer-thread.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const script = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(thread)}); });`;
  return new Worker(script, { eval: true, workerData });
}

interface Pending {
  resolve(reply: WriterReply): void;
  reject(error: unknown): void;
}

/**
 * The store's writing connection, living on a worker thread: statements are posted to it and
 * their results come back as messages, so the event loop never waits for a COMMIT's fsync or a
 * WAL checkpoint. The thread starts on `open()` and opens the file there.
 *
 * If the thread dies (a crash in the native driver, out of memory), every pending and later
 * statement fails with `writerGoneCode` (STORAGE_UNAVAILABLE, so `ping()` and readiness fail) and
 * the cause is thrown as an uncaught exception for the process guard to log. It is not
 * restarted: whatever killed it would likely do so again, and an orchestrator restarts the
 * process on failing readiness.
 */
export class SqliteWriterThread {
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #worker: Worker | null = null;
  #opened: Promise<void> | null = null;
  /** Set once the thread is gone (closed or crashed): what every later statement fails with. */
  #gone: Error | null = null;

  constructor(
    private readonly file: string,
    /** Told why the thread died, once; by default the cause is thrown as an uncaught exception. */
    private readonly onDeath: (cause: unknown) => void = throwUncaught,
    /** Called once the database is open on the thread. */
    private readonly onOpen: () => void = () => {},
  ) {}

  /** Starts the thread and opens the database on it (once; later calls return the same promise). */
  open(): Promise<void> {
    // A failed open is forgotten, so the next query tries again (the directory may be fixed).
    this.#opened ??= this.#start().catch((error: unknown) => {
      this.#opened = null;
      this.#worker = null;
      throw error;
    });
    return this.#opened;
  }

  /**
   * Runs one statement on the writer connection without waiting for it: a failure surfaces as
   * the failure of the next statement `execute`d (which is then not run). For statements whose
   * result nobody reads and whose failure dooms what follows anyway (savepoint commands): a
   * round trip between threads saved.
   */
  post(compiledQuery: CompiledQuery): void {
    if (this.#gone !== null || this.#worker === null) return;
    this.#worker.postMessage({ id: 0, sql: compiledQuery.sql, parameters: compiledQuery.parameters, deferred: true } satisfies WriterRequest);
  }

  /** Runs one statement on the writer connection. */
  async execute<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const reply = await this.#request({ id: 0, sql: compiledQuery.sql, parameters: compiledQuery.parameters });
    if ('error' in reply) throw deserializeError(reply.error);
    const rows = reply.blobs ? reply.rows.map(rowWithBuffers) : reply.rows;
    return {
      rows: rows as R[],
      ...(reply.numAffectedRows !== undefined ? { numAffectedRows: reply.numAffectedRows } : {}),
      ...(reply.insertId !== undefined ? { insertId: reply.insertId } : {}),
    };
  }

  /** Closes the database (on the thread: the last connection's checkpoint runs there) and ends the thread. */
  async close(): Promise<void> {
    if (this.#worker === null || this.#gone !== null) return;
    const worker = this.#worker;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const closed = this.#request({ id: 0, close: true });
    // From now on an exit is expected, and statements fail.
    this.#gone = goneError('the store is closed');
    await closed;
    // Referenced until it is gone: the caller awaits its exit.
    worker.ref();
    await exited;
  }

  async #start(): Promise<void> {
    const worker = startThread({ file: this.file });
    this.#worker = worker;
    const ready = await new Promise<WriterReady>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    // The thread exits by itself after reporting the failure.
    if (!ready.ready) throw deserializeError(ready.error);
    worker.on('message', (reply: WriterReply) => this.#settle(reply));
    worker.on('error', (error) => this.#die(error));
    worker.on('exit', (code) => this.#die(new Error(`the SQLite writer thread exited with code ${code}`)));
    // After the listeners: adding a 'message' listener references the thread's port again.
    worker.unref();
    this.onOpen();
  }

  #request(message: WriterRequest): Promise<WriterReply> {
    if (this.#gone !== null) return Promise.reject(this.#gone);
    const worker = this.#worker;
    if (worker === null) return Promise.reject(goneError('the store was never opened'));
    const id = ++this.#nextId;
    // Referenced only while a statement is out: an idle store must not keep the process alive,
    // and a process awaiting one must not exit.
    if (this.#pending.size === 0) worker.ref();
    return new Promise<WriterReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  }

  #settle(reply: WriterReply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker?.unref();
    pending.resolve(reply);
  }

  #die(cause: unknown): void {
    if (this.#gone !== null) return;
    const gone = goneError('the SQLite writer thread died');
    gone.cause = cause;
    this.#gone = gone;
    for (const pending of this.#pending.values()) pending.reject(gone);
    this.#pending.clear();
    this.onDeath(cause);
  }

  /** Ends the thread at once, as a crash would (pending and later statements fail); for tests. */
  async terminate(): Promise<void> {
    await this.#worker?.terminate();
  }
}

/** For the process guard's log: nothing else would record why every write now fails. */
function throwUncaught(cause: unknown): void {
  queueMicrotask(() => {
    throw cause;
  });
}

function goneError(reason: string): Error & { code: string } {
  return Object.assign(new Error(`The metadata database's writer is gone: ${reason}`), { code: writerGoneCode });
}

function rowWithBuffers(row: unknown): unknown {
  const record = row as Record<string, unknown>;
  for (const key in record) record[key] = withBuffers(record[key]);
  return record;
}

/**
 * Kysely's SQLite dialect over a SqliteWriterThread, with two differences besides the thread:
 * - transactions start with BEGIN IMMEDIATE: a deferred BEGIN that reads and then writes fails
 *   with SQLITE_BUSY, without waiting out busy_timeout, when another process wrote in between
 *   (https://sqlite.org/lang_transaction.html, "read transactions" upgrading to write);
 * - migrations run in a transaction: SQLite's DDL is transactional, so a crash mid-migration
 *   leaves nothing half-made, and a second process waits for the first instead of racing it.
 */
export class SqliteWriterDialect implements Dialect {
  constructor(
    private readonly writer: SqliteWriterThread,
    /** Told around every statement that may commit (COMMIT, or any outside a transaction). */
    private readonly commits: CommitObserver = { beforeOwnCommit() {}, afterOwnCommit() {} },
  ) {}

  createDriver(): Driver {
    return new SqliteWriterDriver(this.writer, this.commits);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }

  // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface declares it so.
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

/** What wants to know when the writer may commit (SqliteFeedChanges). */
export interface CommitObserver {
  beforeOwnCommit(): void;
  afterOwnCommit(): void;
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/** One connection, so one user at a time: a transaction owns it from BEGIN to COMMIT. */
class SqliteWriterDriver implements Driver {
  readonly #connection: DatabaseConnection;
  #locked: Promise<void> | null = null;
  #unlock: (() => void) | null = null;

  /** Between BEGIN and the end of COMMIT/ROLLBACK: only COMMIT itself commits. */
  #inTransaction = false;

  constructor(
    private readonly writer: SqliteWriterThread,
    commits: CommitObserver,
  ) {
    this.#connection = {
      executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
        // Group commit's SAVEPOINT and RELEASE around each work: their results are never read,
        // and if one fails the statement after it fails too, so the batch still fails.
        if (isSavepointCommand(query.sql)) {
          writer.post(query);
          return { rows: [] };
        }
        const commit = !this.#inTransaction || query.sql === 'commit';
        if (commit) commits.beforeOwnCommit();
        const result = await writer.execute<R>(query);
        if (commit) commits.afterOwnCommit();
        return result;
      },
      streamQuery: () => {
        throw new Error('the SQLite writer does not stream');
      },
    };
  }

  init(): Promise<void> {
    return this.writer.open();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    while (this.#locked !== null) await this.#locked;
    this.#locked = new Promise((resolve) => (this.#unlock = resolve));
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    const unlock = this.#unlock;
    this.#locked = null;
    this.#unlock = null;
    unlock?.();
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    this.#inTransaction = true;
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('commit'));
    } finally {
      this.#inTransaction = false;
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('rollback'));
    } finally {
      this.#inTransaction = false;
    }
  }

  destroy(): Promise<void> {
    return this.writer.close();
  }
}

function isSavepointCommand(sql: string): boolean {
  return sql.startsWith('savepoint ') || sql.startsWith('release ');
}
