import { createApp } from '../../app.js';
import { isAppError } from '../../core/errors.js';
import { cliLogger } from './cli-logger.js';
import { parseCommand } from './command-args.js';

export const createUploadLinkUsage = `  create-upload-link --expires <ISO-8601 duration or date-time> [--max-images N] [--max-bytes N]
            mint an upload link (e.g. --expires PT1H, --expires 2030-01-31T18:00:00Z); prints
            {id, relativePath, expiresOn, maxImages, maxBytes} as JSON`;

/** The command's own flags; everything else is the usual configuration. */
const linkFlags = { expires: { type: 'string' }, 'max-images': { type: 'string' }, 'max-bytes': { type: 'string' } } as const;

/**
 * `imagegram create-upload-link --expires PT1H`: mints a link like `POST /admin/upload-links`,
 * through the same core service, against the configured database. Resolves with the exit code.
 */
export async function createUploadLinkCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, linkFlags);
  if (!parsed.ok) return fail(`invalid arguments: ${parsed.message}`);
  const { flags, config } = parsed;
  if (flags.expires === undefined) return fail('--expires is required, e.g. --expires PT1H');
  const expiry = /^-?P/i.test(flags.expires) ? { sinceNow: flags.expires } : { expiresOn: flags.expires };
  const app = await createApp(config, cliLogger(config));
  try {
    const { link, token } = await app.services.uploadLinks.create({
      ...expiry,
      maxImages: optionalInteger(flags['max-images']),
      maxBytes: optionalInteger(flags['max-bytes']),
    });
    const printed = {
      id: link.id,
      relativePath: `/links/${token}`,
      expiresOn: new Date(link.expiresAt).toISOString(),
      maxImages: link.maxImages,
      maxBytes: link.maxBytes,
    };
    process.stdout.write(`${JSON.stringify(printed, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (isAppError(error)) return fail(`cannot create the link (--expires ${flags.expires}): ${error.message}`);
    throw error;
  } finally {
    await app.close();
  }
}

function optionalInteger(value: string | undefined): number | undefined {
  // Not-a-number reaches the service, which refuses it with a clear message.
  return value === undefined ? undefined : Number(value);
}

function fail(message: string): number {
  process.stderr.write(`imagegram create-upload-link: ${message}\n`);
  return 1;
}
