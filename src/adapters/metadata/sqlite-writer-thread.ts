/**
 * The writer thread: owns the store's one writing SQLite connection and runs the statements the
 * store posts, one at a time, in order. better-sqlite3 is synchronous, so here COMMIT's fsync and
 * the WAL checkpoints it triggers block only this thread, never the server's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openWriterConnection } from './sqlite-connection.js';
import type { SqliteDatabase } from './sqlite-driver.js';
import { cachingStatements } from './sqlite-statement-cache.js';
import {
  type SerializedError,
  serializeError,
  withBuffers,
  type WriterReady,
  type WriterReply,
  type WriterRequest,
  type WriterThreadData,
} from './sqlite-writer-protocol.js';

const port = parentPort;
if (port === null) throw new Error('sqlite-writer-thread runs only as a worker thread');
const { file } = workerData as WriterThreadData;

let database: SqliteDatabase;
try {
  database = openWriterConnection(file);
  port.postMessage({ ready: true } satisfies WriterReady);
} catch (error) {
  port.postMessage({ ready: false, error: serializeError(error) } satisfies WriterReady);
  process.exit(0);
}
const statements = cachingStatements(database);

port.on('message', (request: WriterRequest) => {
  if ('close' in request) {
    database.close();
    port.postMessage({ id: request.id, rows: [] } satisfies WriterReply);
    port.close();
    return;
  }
  if (deferredFailure !== null) {
    // An earlier deferred statement failed: run nothing until an awaited one can report it.
    if (request.deferred) return;
    port.postMessage({ id: request.id, error: deferredFailure } satisfies WriterReply);
    deferredFailure = null;
    return;
  }
  const reply = run(request.id, request.sql, request.parameters);
  if (!request.deferred) port.postMessage(reply);
  else if ('error' in reply) deferredFailure = reply.error;
});

/** The error of a failed deferred statement, until an awaited statement reports it. */
let deferredFailure: SerializedError | null = null;

function run(id: number, sql: string, parameters: readonly unknown[]): WriterReply {
  try {
    const statement = statements.prepare(sql);
    const bound = parameters.map(withBuffers);
    if (statement.reader) {
      const rows = statement.all(bound) as Record<string, unknown>[];
      return rows.some(holdsBlob) ? { id, rows, blobs: true } : { id, rows };
    }
    const { changes, lastInsertRowid } = statement.run(bound);
    return { id, rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  } catch (error) {
    return { id, error: serializeError(error) };
  }
}

function holdsBlob(row: Record<string, unknown>): boolean {
  for (const key in row) if (row[key] instanceof Uint8Array) return true;
  return false;
}
