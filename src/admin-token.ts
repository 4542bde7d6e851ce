import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config.js';

/**
 * The admin token: `ADMIN_TOKEN` when set; else the one kept in `<dataDir>/admin-token`; else a
 * new one, written there (mode 0600) and printed once so the operator can copy it (SPEC §7).
 */
export async function loadOrCreateAdminToken(config: Config, logger: Logger): Promise<string> {
  if (config.adminToken) return config.adminToken;
  const path = join(config.dataDir, 'admin-token');
  try {
    const stored = (await readFile(path, 'utf8')).trim();
    if (stored.length >= 16) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  await mkdir(config.dataDir, { recursive: true });
  try {
    // 'wx': if two processes start at once, only one writes; the other reads the winner's token.
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(path, 'utf8')).trim();
    throw error;
  }
  logger.warn({ adminTokenFile: path }, `Generated an admin token (shown only this once; it is also stored in ${path}): ${token}`);
  return token;
}
