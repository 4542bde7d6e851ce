import { join } from 'node:path';
import pg from 'pg';
import { BetterSqlite3 } from '../../src/adapters/metadata/sqlite-driver.js';
import type { RunningServer } from './server.js';

/**
 * Makes the resumable upload `id` expired as of now, in the database of `server`, whatever its
 * UPLOAD_EXPIRY_SECONDS: a test that instead waits out a short expiry races its own requests on a
 * loaded machine (a PATCH sent in time may arrive after the deadline). The server's sweep or gc
 * then treats it like any upload whose time ran out.
 */
export async function expireUpload(server: RunningServer, id: string): Promise<void> {
  const past = Date.now() - 1_000;
  const url = server.env.DATABASE_URL;
  if (url?.startsWith('postgres')) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('UPDATE uploads SET expires_at = $1 WHERE id = $2', [past, id]);
    } finally {
      await client.end();
    }
    return;
  }
  const path = url?.startsWith('sqlite:') ? url.slice('sqlite:'.length) : join(server.dataDir, 'imagegram.sqlite');
  // WAL lets this second connection write beside the server's; busy_timeout waits out its commits.
  const db = new BetterSqlite3(path, { timeout: 10_000 });
  try {
    db.prepare('UPDATE uploads SET expires_at = ? WHERE id = ?').run(past, id);
  } finally {
    db.close();
  }
}
