import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createApp } from '../../app.js';
import { ConfigError, loadConfig } from '../../config.js';
import { isAppError } from '../../core/errors.js';

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
  const { linkArgs, rest } = splitArgs(argv);
  let flags: { expires?: string; 'max-images'?: string; 'max-bytes'?: string };
  let config;
  try {
    flags = parseArgs({ args: linkArgs, options: linkFlags, strict: true }).values;
    config = loadConfig(rest);
  } catch (error) {
    if (!(error instanceof ConfigError) && !(error instanceof TypeError)) throw error;
    return fail(`invalid arguments: ${(error as Error).message}`);
  }
  if (flags.expires === undefined) return fail('--expires is required, e.g. --expires PT1H');
  const expiry = /^-?P/i.test(flags.expires) ? { sinceNow: flags.expires } : { expiresOn: flags.expires };
  // stdout is for the result; logs go to stderr.
  const app = await createApp(config, pino({ level: config.logLevel }, pino.destination(2)));
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

/** Separates this command's flags (`--expires X` or `--expires=X`) from the configuration flags. */
function splitArgs(argv: string[]): { linkArgs: string[]; rest: string[] } {
  const linkArgs: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = /^--([a-z-]+)/.exec(arg)?.[1];
    if (name === undefined || !(name in linkFlags)) {
      rest.push(arg);
    } else if (arg.includes('=')) {
      linkArgs.push(arg);
    } else {
      linkArgs.push(arg, ...(argv[i + 1] === undefined ? [] : [argv[i + 1]!]));
      i += 1;
    }
  }
  return { linkArgs, rest };
}

function optionalInteger(value: string | undefined): number | undefined {
  // Not-a-number reaches the service, which refuses it with a clear message.
  return value === undefined ? undefined : Number(value);
}

function fail(message: string): number {
  process.stderr.write(`imagegram create-upload-link: ${message}\n`);
  return 1;
}
