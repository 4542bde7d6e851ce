import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { MetadataStore } from './ports/metadata-store.js';
import { StartupError } from './startup-error.js';

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
 * The key page cursors are signed with: `CURSOR_SECRET` when set; else the one the shared database
 * keeps, made on first start (256 random bits) so every process of a deployment signs alike. A
 * secret kept in one data dir would differ per process, and a cursor one process issued would be
 * refused by the next. An install from before the database kept it carries on with the one in
 * `<dataDir>/cursor-secret`, so the cursors clients hold stay valid. Its own secret, not the admin
 * token's: rotating the admin token must not break every cursor clients hold.
 */
export async function loadOrCreateCursorSecret(config: Config, store: MetadataStore, logger: Logger): Promise<string> {
  if (config.cursorSecret) return config.cursorSecret;
  const shared = await store.settings.get(cursorSecretSetting);
  if (shared !== null) return shared;
  const earlier = await readSecretFile(join(config.dataDir, 'cursor-secret'));
  const value = await store.settings.setIfAbsent(cursorSecretSetting, earlier ?? randomBytes(32).toString('base64url'));
  // Never logged: nobody needs to copy it.
  logger.info(
    earlier
      ? 'Moved the cursor secret of this data dir into the database, where every process finds it'
      : 'Generated a cursor secret and stored it in the database',
  );
  return value;
}

const cursorSecretSetting = 'cursor-secret';
const adminTokenSetting = 'admin-token-fingerprint';

/**
 * Refuses (StartupError) an admin token other than the one the shared database knows, so that one
 * deployment cannot answer one admin request and refuse the next depending on the process a
 * balancer picks. The first process records the token's fingerprint (a salted HMAC-SHA256: the
 * token itself is never stored); `imagegram rotate-admin-token` records a new one deliberately.
 */
export async function checkAdminTokenFingerprint(config: Config, token: string, store: MetadataStore): Promise<void> {
  const stored = (await store.settings.get(adminTokenSetting)) ?? (await store.settings.setIfAbsent(adminTokenSetting, adminTokenFingerprint(token)));
  if (fingerprintMatches(stored, token)) return;
  const which = config.adminToken
    ? 'ADMIN_TOKEN differs from the admin token'
    : `ADMIN_TOKEN is not set, so this process would use the one generated in ${join(config.dataDir, 'admin-token')}, which is not the admin token`;
  throw new StartupError(
    `${which} the other processes of this deployment use (the database records a fingerprint of it). ` +
      'Set ADMIN_TOKEN to the same value on every serve and worker process. ' +
      'To change the token on purpose, run `imagegram rotate-admin-token` with the new ADMIN_TOKEN (and the same DATABASE_URL), then restart every process with it.',
  );
}

/** Records the fingerprint of `token` as the deployment's admin token (`imagegram rotate-admin-token`). */
export async function recordAdminTokenFingerprint(token: string, store: MetadataStore): Promise<void> {
  await store.settings.set(adminTokenSetting, adminTokenFingerprint(token));
}

/** `hmac-sha256:<salt>:<HMAC of the token keyed by the salt>`, base64url. */
function adminTokenFingerprint(token: string, salt = randomBytes(16).toString('base64url')): string {
  return `hmac-sha256:${salt}:${createHmac('sha256', salt).update(token).digest('base64url')}`;
}

function fingerprintMatches(stored: string, token: string): boolean {
  const [kind, salt] = stored.split(':');
  if (kind !== 'hmac-sha256' || salt === undefined) return false;
  const expected = Buffer.from(adminTokenFingerprint(token, salt));
  const actual = Buffer.from(stored);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

async function readSecretFile(path: string): Promise<string | null> {
  try {
    const stored = (await readFile(path, 'utf8')).trim();
    return stored.length >= 16 ? stored : null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The secret kept in `<dataDir>/<file>`, made (256 random bits) when there is none. */
async function loadOrCreateSecretFile(dataDir: string, file: string): Promise<{ value: string; path: string; created: boolean }> {
  const path = join(dataDir, file);
  const stored = await readSecretFile(path);
  if (stored !== null) return { value: stored, path, created: false };
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
