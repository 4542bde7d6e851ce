import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BetterSqlite3 as Database, type SqliteDatabase } from '../metadata/sqlite-driver.js';
import { StartupError } from '../../startup-error.js';

/** The lock of a data directory, held until `release()` or the process's end (a kill -9 included). */
export interface DataDirLock {
  release(): void;
}

/**
 * Takes `<dataDir>/.lock` for the life of this process, or throws StartupError when another
 * process holds it. The lock is an exclusive SQLite transaction that never ends: SQLite locks the
 * file with fcntl, so the kernel drops it when the process dies however it dies (no stale lock
 * file to clear after a crash), and two containers on one volume see each other. A pid file
 * could not tell a dead process from a live one in another PID namespace.
 */
export function lockDataDir(dataDir: string, command: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, '.lock');
  const ownerPath = join(dataDir, '.lock-owner');
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    throw new StartupError(
      `another imagegram process${describeOwner(ownerPath)} is using DATA_DIR ${dataDir} (it holds ${path}). ` +
        'Every serve or worker process needs a data directory of its own: give this one another DATA_DIR ' +
        "(on PostgreSQL and S3 nothing in it is shared; on SQLite point DATABASE_URL and BLOB_STORE_URL at the first one's files), " +
        'or stop the other process first.',
    );
  }
  // Only for the message a second process prints; the lock itself is the transaction above.
  try {
    writeFileSync(ownerPath, `${JSON.stringify({ pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() })}\n`);
  } catch {
    // Informational: a read-only file here must not stop a process that holds the lock.
  }
  held.add(db);
  return {
    release: () => {
      held.delete(db);
      db.close();
    },
  };
}

// Referenced from here, not only by the caller: a connection the garbage collector finalised would
// close, and release the lock, while the process still runs.
const held = new Set<SqliteDatabase>();

function describeOwner(ownerPath: string): string {
  try {
    const owner = JSON.parse(readFileSync(ownerPath, 'utf8')) as { pid?: number; host?: string; command?: string; startedAt?: string };
    return ` (${owner.command ?? 'a process'}, pid ${owner.pid} on ${owner.host}, started ${owner.startedAt})`;
  } catch {
    return '';
  }
}
