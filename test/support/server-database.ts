import { join } from 'node:path';
import pg from 'pg';
import { BetterSqlite3 } from '../../src/adapters/metadata/sqlite-driver.js';
import type { RunningServer } from './server.js';

/**
 * Runs one statement (`?` placeholders) on the database of the running `server`, SQLite or
 * PostgreSQL, and returns how many rows it changed: for a test that must put a row in a state no
 * request can produce quickly (an expired upload, a parked job).
 */
export async function runOnServerDatabase(server: RunningServer, sql: string, params: readonly unknown[]): Promise<number> {
  const url = server.env.DATABASE_URL;
  if (url?.startsWith('postgres')) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      let index = 0;
      const result = await client.query(
        sql.replace(/\?/g, () => `$${++index}`),
        [...params],
      );
      return result.rowCount ?? 0;
    } finally {
      await client.end();
    }
  }
  const path = url?.startsWith('sqlite:') ? url.slice('sqlite:'.length) : join(server.dataDir, 'imagegram.sqlite');
  // WAL lets this second connection write beside the server's; busy_timeout waits out its commits.
  const db = new BetterSqlite3(path, { timeout: 10_000 });
  try {
    return db.prepare(sql).run(...params).changes;
  } finally {
    db.close();
  }
}

/**
 * Makes the finished job `id` look parked, as if its last attempt had failed with `error`: the
 * honest way (a handler failing five times with backoff) takes a server restart and seconds.
 */
export async function parkJob(server: RunningServer, id: string, error: string): Promise<void> {
  const now = Date.now();
  const changed = await runOnServerDatabase(
    server,
    "UPDATE jobs SET state = 'parked', attempts = max_attempts, active_key = NULL, lease_token = NULL, last_error = ?, finished_at = ?, updated_at = ? WHERE id = ? AND state = 'done'",
    [error, now, now, id],
  );
  if (changed !== 1) throw new Error(`job ${id} is not done, so it was not parked`);
}
