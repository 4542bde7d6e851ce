import type { Logger } from 'pino';
import { pino } from 'pino';
import { createApp } from '../../app.js';
import { ConfigError, loadConfig, type Config } from '../../config.js';
import { configHelp } from './config-docs.js';
import { createBucketCommand, createBucketUsage } from './create-bucket.js';
import { createUploadLinkCommand, createUploadLinkUsage } from './create-upload-link.js';
import { eventsCommand, eventsUsage } from './events.js';
import { gcCommand, gcUsage } from './gc.js';
import { importCommand, importUsage } from './import.js';
import { jobsCommand, jobsUsage } from './jobs.js';
import { migrateStorageCommand, migrateStorageUsage } from './migrate-storage.js';
import { reprocessCommand, reprocessUsage } from './reprocess.js';
import { rotateAdminTokenCommand, rotateAdminTokenUsage } from './rotate-admin-token.js';
import { statsCommand, statsUsage } from './stats.js';
import { verifyCommand, verifyUsage } from './verify.js';
import { workerCommand } from './worker.js';

interface Command {
  /** Its synopsis and a few lines on what it does, indented for the command list. */
  usage: string;
  /** Whether its help lists every configuration option (the server's commands), not just points at them. */
  configHelp?: boolean;
  /** Runs it with the arguments after its name; resolves with the exit code. */
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, Command> = {
  serve: {
    usage: `  serve
            start the HTTP server, with a job worker unless RUN_WORKER=off`,
    configHelp: true,
    run: (argv) =>
      withConfig(argv, async (config, logger) => {
        // Loaded on demand: the HTTP stack (Fastify, Mercurius, GraphQL, swagger) is over half the
        // start-up time of a CLI command such as `gc` or `verify`, which never needs it.
        const { serve } = await import('./serve.js');
        await serve(config, logger);
        return 0;
      }),
  },
  worker: {
    usage: `  worker
            run a job worker alone (no HTTP)`,
    configHelp: true,
    run: (argv) =>
      withConfig(argv, async (config, logger) => {
        await workerCommand(config, logger);
        return 0;
      }),
  },
  migrate: {
    usage: `  migrate
            apply database migrations and exit`,
    run: (argv) =>
      withConfig(argv, async (config, logger) => {
        const app = await createApp(config, logger);
        await app.close();
        process.stdout.write('migrations applied\n');
        return 0;
      }),
  },
  'create-bucket': { usage: createBucketUsage, run: createBucketCommand },
  'rotate-admin-token': { usage: rotateAdminTokenUsage, run: rotateAdminTokenCommand },
  gc: { usage: gcUsage, run: gcCommand },
  verify: { usage: verifyUsage, run: verifyCommand },
  stats: { usage: statsUsage, run: statsCommand },
  events: { usage: eventsUsage, run: eventsCommand },
  jobs: { usage: jobsUsage, run: jobsCommand },
  reprocess: { usage: reprocessUsage, run: reprocessCommand },
  import: { usage: importUsage, run: importCommand },
  'migrate-storage': { usage: migrateStorageUsage, run: migrateStorageCommand },
  'create-upload-link': { usage: createUploadLinkUsage, run: createUploadLinkCommand },
};

const configHeading = 'Configuration options, taken by every command (a flag wins over its environment variable, in brackets):';

/** `imagegram --help`; `full: false` points at the configuration options instead of listing them. */
export function usage({ full = true } = {}): string {
  return `Usage: imagegram <command> [options]
       imagegram <command> --help

Commands:
${Object.values(commands)
  .map((command) => command.usage)
  .join('\n')}

${full ? `${configHeading}\n${configHelp()}` : 'Configuration options (--port, --data-dir, --database-url…): imagegram --help'}`;
}

/** `imagegram <command> --help`. */
export function commandUsage(name: string): string {
  const command = commands[name]!;
  const options = command.configHelp
    ? `${configHeading}\n${configHelp()}`
    : 'It also takes the configuration options (--data-dir, --database-url, --blob-store-url…): see imagegram --help.';
  return `Usage: imagegram ${command.usage.trimStart()}\n\n${options}`;
}

const isHelp = (arg: string) => arg === '--help' || arg === '-h';

/** Runs one CLI command; resolves with the process exit code (serve never resolves until shutdown). */
export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  // Without a command, help rather than a server on every interface; a usage error for scripts.
  if (name === undefined) return usageError('give a command (imagegram serve starts the server)');
  if (isHelp(name) || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !Object.hasOwn(commands, topic)) return usageError(`unknown command "${topic}"`);
    process.stdout.write(`${topic === undefined ? usage() : commandUsage(topic)}\n`);
    return 0;
  }
  if (name.startsWith('-')) return usageError(`give the command first, e.g. imagegram serve ${argv.join(' ')}`);
  if (!Object.hasOwn(commands, name)) return usageError(`unknown command "${name}"`);
  // Up to `--`: anything after it is an argument (a directory called --help, say).
  const end = rest.indexOf('--');
  if ((end < 0 ? rest : rest.slice(0, end)).some(isHelp)) {
    process.stdout.write(`${commandUsage(name)}\n`);
    return 0;
  }
  return commands[name]!.run(rest);
}

function usageError(message: string): number {
  process.stderr.write(`imagegram: ${message}\n\n${usage({ full: false })}\n`);
  return 1;
}

/** Parses the configuration flags and runs `run`; an invalid configuration exits 1 with its message. */
async function withConfig(argv: string[], run: (config: Config, logger: Logger) => Promise<number>): Promise<number> {
  let config;
  try {
    config = loadConfig(argv);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`imagegram: invalid configuration: ${error.message}\n`);
    return 1;
  }
  return run(config, pino({ level: config.logLevel }));
}
