import { createApp } from '../../app.js';
import { loadOrCreateAdminToken, recordAdminTokenFingerprint } from '../../stored-secrets.js';
import { cliLogger } from './cli-logger.js';
import { fail, parseCommand } from './command-args.js';

export const rotateAdminTokenUsage = `  rotate-admin-token
            make ADMIN_TOKEN (as set for this command) the deployment's admin token: serve and
            worker refuse to start with any other; then restart every process with it`;

/** `imagegram rotate-admin-token`: records the fingerprint of this process's admin token in the database. */
export async function rotateAdminTokenCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, {});
  if (!parsed.ok) return fail('rotate-admin-token', parsed.message);
  if (parsed.positionals.length > 0)
    return fail(
      'rotate-admin-token',
      'the new token comes from ADMIN_TOKEN (or --admin-token), not an argument: a command line is visible to every user of the host',
    );
  const logger = cliLogger(parsed.config);
  const app = await createApp(parsed.config, logger);
  try {
    await recordAdminTokenFingerprint(await loadOrCreateAdminToken(parsed.config, logger), app.store);
  } finally {
    await app.close();
  }
  process.stdout.write(
    'Recorded the new admin token. Processes already running keep the token they started with until restarted; restart every serve and worker process with this ADMIN_TOKEN now.\n',
  );
  return 0;
}
