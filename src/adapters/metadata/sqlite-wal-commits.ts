import { type FileHandle, open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { betterSqlite3Path, type SqliteDatabase } from './sqlite-driver.js';

/** How the WAL's commits are made durable and checkpointed; the defaults are what production runs. */
export interface WalCommitsOptions {
  /** Makes the WAL's written frames durable: fdatasync, on libuv's thread pool. Tests wrap it. */
  datasync?: (wal: FileHandle) => Promise<void>;
  /**
   * WAL frames (pages) past which the writer waits, connection held, for a checkpoint to take in
   * everything, so that its next write starts the WAL over. Default 1000: SQLite's own
   * auto-checkpoint size.
   */
  catchUpFrames?: number;
  /**
   * Synced commits between two background checkpoints (default 10). Small, frequent passes, each
   * followed by an fdatasync of the database file, spread the disk's writes: a commit's WAL sync
   * never queues behind one large flush, and the catch-up finds little left to flush.
   */
  checkpointEveryCommits?: number;
  /** Told of every WAL sync, checkpoint and catch-up once it ended, with its timing (benches draw stall timelines from them). */
  observe?: (event: WalEvent) => void;
}

/** Something WalCommits did that may hold up commits, as `WalCommitsOptions.observe` hears it. */
export interface WalEvent {
  /**
   * `sync`: a commit's WAL fdatasync (connection held); `checkpoint`: one on the worker (the
   * connection free, unless it is a catch-up's); `catch-up`: the connection held until a checkpoint
   * (reported too) took in the whole WAL.
   */
  kind: 'sync' | 'checkpoint' | 'catch-up';
  /** When it started, on `performance.now()`'s clock. */
  startedAt: number;
  /** How long it took, in ms. */
  ms: number;
  /** For a checkpoint: the WAL's length in frames, as it found it. */
  frames?: number;
}

/** A background pass that copied at most this many frames leaves a catch-up little to copy. */
const convergedFrames = 200;
/** Background passes before the catch-up holds the connection anyway, so the WAL stays bounded. */
const maxConvergingPasses = 6;

/** How the worker is to run one checkpoint. */
interface CheckpointRequest {
  /** fdatasync the database file after it (SQLite does so only when it took in the whole WAL). */
  syncDatabase: boolean;
}

/** What one PASSIVE checkpoint found (https://sqlite.org/pragma.html#pragma_wal_checkpoint). */
interface CheckpointResult {
  /** Frames in the WAL. */
  log: number;
  /** Frames of them now in the database file. */
  checkpointed: number;
}

/**
 * The durability of one WAL-mode SQLite connection, kept off the event loop.
 *
 * SQLite with `synchronous=FULL` fsyncs the WAL inside every COMMIT, and checkpoints (copying the
 * WAL into the database file, two more fsyncs) inside whichever COMMIT crosses 1000 pages; with
 * better-sqlite3 both block the event loop, for every request, for as long as the disk takes
 * (milliseconds each, tens under load). Here the connection runs `synchronous=NORMAL`, where a
 * COMMIT only write()s its frames to the WAL, and this class does what FULL would have done
 * before anyone may go on: once a write has committed, `settle()` fdatasyncs the WAL on libuv's
 * thread pool, and the connection is handed to no one (not even a read) until that returned. A
 * transaction's promise resolves only after its frames are on disk, and nothing a crash could
 * lose is ever read: the same guarantee as FULL, power cut included. Checkpoints run on a worker
 * thread with a connection of its own (`wal_autocheckpoint=0` on this one); under NORMAL SQLite
 * still syncs the WAL before a checkpoint copies it and the database file after.
 *
 * The WAL starts over only after a checkpoint took in all of it, which under a steady stream of
 * commits needs the writer held for a moment (the catch-up). SQLite syncs the database file only
 * in that last checkpoint, so left to itself the catch-up would flush every page copied since the
 * WAL last started over (~10 ms here at 1,000 comments/s). Instead each background pass syncs the
 * database file after it copied, and passes repeat, the connection free, until one copied little:
 * the held catch-up then copies and flushes only what the last pass left (~1 ms).
 */
export class WalCommits {
  readonly #file: string;
  readonly #datasync: (wal: FileHandle) => Promise<void>;
  readonly #catchUpFrames: number;
  readonly #checkpointEveryCommits: number;
  readonly #observe: ((event: WalEvent) => void) | undefined;
  #commitsSinceCheckpoint = 0;
  #database: SqliteDatabase | undefined;
  #wal: FileHandle | undefined;
  /** A write ran since the last settle: its commit (or the transaction's) needs the WAL synced. */
  #written = false;
  #checkpointer: Checkpointer | undefined;
  #checkpointing: Promise<CheckpointResult | null> | null = null;
  #mustCatchUp = false;

  constructor(file: string, options: WalCommitsOptions = {}) {
    this.#file = file;
    this.#datasync = options.datasync ?? ((wal) => wal.datasync());
    this.#catchUpFrames = options.catchUpFrames ?? 1000;
    this.#checkpointEveryCommits = options.checkpointEveryCommits ?? 10;
    this.#observe = options.observe;
  }

  /** Sets `database` up for this (called as the store opens it, after WAL mode is on). */
  bind(database: SqliteDatabase): void {
    this.#database = database;
    database.pragma('synchronous = NORMAL');
    database.pragma('wal_autocheckpoint = 0');
  }

  /** A statement that may write ran (called by the statement cache for every non-read-only statement). */
  wrote(): void {
    this.#written = true;
  }

  /**
   * Called before the connection goes to its next user: if a write committed since the last
   * call, the WAL is made durable first, and the WAL is checkpointed (on the worker) when due.
   * Throws SQLITE_IOERR_FSYNC if the disk refuses: the commit must not be reported durable.
   */
  async settle(): Promise<void> {
    if (!this.#written || this.#database?.inTransaction !== false) return;
    this.#written = false;
    try {
      this.#wal ??= await open(`${this.#file}-wal`, 'r');
      const startedAt = performance.now();
      await this.#datasync(this.#wal);
      this.#observed('sync', startedAt);
    } catch (error) {
      throw Object.assign(new Error(`Could not make the SQLite WAL durable: ${(error as Error).message}`, { cause: error }), {
        code: 'SQLITE_IOERR_FSYNC',
      });
    }
    if (this.#mustCatchUp) {
      // The connection is still held: no frame is added while this checkpoint takes in the rest,
      // so the next write can start the WAL over instead of growing it.
      this.#mustCatchUp = false;
      // No background pass is running: the one that asked for this catch-up was the last.
      const startedAt = performance.now();
      // It takes in the whole WAL, so SQLite syncs the database file itself.
      await this.#checkpoint({ syncDatabase: false });
      this.#observed('catch-up', startedAt);
    } else if (++this.#commitsSinceCheckpoint >= this.#checkpointEveryCommits && this.#checkpointing === null) {
      // Not after every commit: each checkpoint fsyncs the WAL and the database file, and those
      // fsyncs queue on the disk with the next commits'.
      this.#checkpointing = this.#converge();
    }
  }

  /** Stops the checkpoint worker (before the connection closes, which checkpoints what is left itself). */
  async close(): Promise<void> {
    await this.#checkpointing;
    await this.#checkpointer?.close();
    this.#checkpointer = undefined;
    await this.#wal?.close();
    this.#wal = undefined;
  }

  #observed(kind: WalEvent['kind'], startedAt: number, frames?: number): void {
    if (this.#observe === undefined) return;
    this.#observe({ kind, startedAt, ms: performance.now() - startedAt, ...(frames === undefined ? {} : { frames }) });
  }

  /**
   * Background checkpoints, the connection free, until the WAL is short or a catch-up would be
   * short. Each pass copies what the WAL holds and syncs the database file, so the catch-up that
   * finally holds the connection copies and syncs only the frames written during the last pass.
   */
  async #converge(): Promise<CheckpointResult | null> {
    try {
      let previous = await this.#checkpoint({ syncDatabase: true });
      for (let pass = 1; previous !== null && previous.log >= this.#catchUpFrames; pass++) {
        const next = await this.#checkpoint({ syncDatabase: true });
        // The WAL started over meanwhile (a pass took in all of it before the next write), or
        // the checkpoint failed (the next trigger retries).
        if (next === null || next.log < previous.log) return next;
        if (next.checkpointed - previous.checkpointed <= convergedFrames || pass >= maxConvergingPasses) {
          this.#mustCatchUp = true;
          return next;
        }
        previous = next;
      }
      return previous;
    } finally {
      this.#checkpointing = null;
    }
  }

  /** One PASSIVE checkpoint on the worker; null if it failed (the next one retries: nothing is lost). */
  async #checkpoint(how: CheckpointRequest): Promise<CheckpointResult | null> {
    // A thread that died (or never started) is replaced: otherwise the WAL would grow for good.
    if (this.#checkpointer?.stopped) this.#checkpointer = undefined;
    this.#checkpointer ??= new Checkpointer(this.#file);
    this.#commitsSinceCheckpoint = 0;
    try {
      const startedAt = performance.now();
      const result = await this.#checkpointer.run(how);
      this.#observed('checkpoint', startedAt, result.log);
      return result;
    } catch {
      return null;
    }
  }
}

// A script, not a module of ours: it needs no TypeScript loader whether imagegram runs compiled or
// from its sources, and only the driver the main thread loaded.
const checkpointerSource = `
const { fdatasyncSync, openSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const database = new Database(workerData.file, { fileMustExist: true });
// Read-write: some systems refuse to sync a file opened read-only. Nothing is written through it.
const databaseFile = openSync(workerData.file, 'r+');
parentPort.on('message', (request) => {
  try {
    const [result] = database.pragma('wal_checkpoint(PASSIVE)');
    // SQLite syncs the database file only when a checkpoint took in the whole WAL with no commit
    // meanwhile (which PASSIVE's answer does not tell); syncing after every pass (once any frame
    // of this WAL was copied: its "checkpointed" counts them all, not this pass's) leaves the catch-up,
    // which holds the writer, little to flush. Only ever more than SQLite does: no durability
    // rests on it.
    if (request.syncDatabase && result.checkpointed > 0) fdatasyncSync(databaseFile);
    parentPort.postMessage({ log: result.log, checkpointed: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message) });
  }
});
`;

/** A worker thread with its own connection to the database file, running one checkpoint at a time. */
class Checkpointer {
  readonly #worker: Worker;
  #pending: { resolve(result: CheckpointResult): void; reject(error: Error): void } | null = null;
  /** The thread has exited (or failed to start): a new Checkpointer takes its place. */
  stopped = false;

  constructor(file: string) {
    this.#worker = new Worker(checkpointerSource, { eval: true, workerData: { file, driver: betterSqlite3Path } });
    // Never what keeps the process alive.
    this.#worker.unref();
    this.#worker.on('message', (message: CheckpointResult | { error: string }) => {
      const pending = this.#pending;
      this.#pending = null;
      if ('error' in message) pending?.reject(new Error(message.error));
      else pending?.resolve(message);
    });
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => this.#fail(new Error(`The checkpoint thread exited (code ${code})`)));
  }

  #fail(error: Error): void {
    this.stopped = true;
    this.#pending?.reject(error);
    this.#pending = null;
  }

  run(request: CheckpointRequest): Promise<CheckpointResult> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(new Error('The checkpoint thread has stopped'));
      this.#pending = { resolve, reject };
      this.#worker.postMessage(request);
    });
  }

  /** Ends the thread; Node closes the descriptors it opened (its connection's and the sync's). */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
