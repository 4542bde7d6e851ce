import type { RunningServer } from './server.js';
import { runOnServerDatabase } from './server-database.js';

/**
 * Makes the resumable upload `id` expired as of now, in the database of `server`, whatever its
 * UPLOAD_EXPIRY_SECONDS: a test that instead waits out a short expiry races its own requests on a
 * loaded machine (a PATCH sent in time may arrive after the deadline). The server's sweep or gc
 * then treats it like any upload whose time ran out.
 */
export async function expireUpload(server: RunningServer, id: string): Promise<void> {
  await runOnServerDatabase(server, 'UPDATE uploads SET expires_at = ? WHERE id = ?', [Date.now() - 1_000, id]);
}
