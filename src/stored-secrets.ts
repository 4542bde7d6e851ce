import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config.js';

/**
 * The admin token: `ADMIN_TOKEN` when set; else the one kept in `<dataDir>/admin-token`; else a
 * new one, written there (mode 0600) and printed once so the operator can copy it.
 */
export async function loadOrCreateAdminToken(config: Config, logger: Logger): Promise<string> {
  if (config.adminToken) return config.adminToken;
  const { value, path, created } = await loadOrCreateSecretFile(config.dataDir, 'admin-token');
  if (created) logger.warn({ adminTokenFile: path }, `Generated an admin token (shown only this once; it is also stored in ${path}): ${value}`);
  return value;
}

/**
 * The key page cursors are signed with: `CURSOR_SECRET` when set; else the one kept in
 * `<dataDir>/cursor-secret`; else a new one, written there (mode 0600). Its own secret, not the
 * admin token's: rotating the admin token must not break every cursor clients hold.
 */
export async function loadOrCreateCursorSecret(config: Config, logger: Logger): Promise<string> {
  if (config.cursorSecret) return config.cursorSecret;
  const { value, path, created } = await loadOrCreateSecretFile(config.dataDir, 'cursor-secret');
  // Never logged: nobody needs to copy it, except to set CURSOR_SECRET on other hosts.
  if (created) logger.info({ cursorSecretFile: path }, 'Generated a cursor secret; with several processes, set the same CURSOR_SECRET everywhere');
  return value;
}

/** The secret kept in `<dataDir>/<file>`, made (256 random bits) when there is none. */
async function loadOrCreateSecretFile(dataDir: string, file: string): Promise<{ value: string; path: string; created: boolean }> {
  const path = join(dataDir, file);
  try {
    const stored = (await readFile(path, 'utf8')).trim();
    if (stored.length >= 16) return { value: stored, path, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const value = randomBytes(32).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  try {
    // 'wx': if two processes start at once, only one writes; the other reads the winner's secret.
    await writeFile(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { value: (await readFile(path, 'utf8')).trim(), path, created: false };
    throw error;
  }
  return { value, path, created: true };
}
