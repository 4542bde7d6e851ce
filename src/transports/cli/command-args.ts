import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../../config.js';

/** A command's own flags, in node:util parseArgs form. */
export type CommandFlags = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** A command's parsed arguments, or the message to fail with. */
export type ParsedCommand<F extends CommandFlags> =
  | { ok: true; flags: { [K in keyof F]?: F[K]['type'] extends 'boolean' ? boolean : string }; positionals: string[]; config: Config }
  | { ok: false; message: string };

/**
 * Splits `argv` into the command's own flags (and positionals) and the configuration flags every
 * command takes (`--data-dir`, `--database-url`…), then parses both. Flags are `--name value`,
 * `--name=value` or, for booleans, `--name`.
 */
export function parseCommand<F extends CommandFlags>(argv: string[], flags: F): ParsedCommand<F> {
  const own: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = /^--([a-z][a-z-]*)/.exec(arg)?.[1];
    if (name === undefined) {
      own.push(arg);
    } else if (!(name in flags)) {
      rest.push(arg, ...(arg.includes('=') || argv[i + 1] === undefined || argv[i + 1]!.startsWith('--') ? [] : [argv[++i]!]));
    } else if (flags[name]!.type === 'boolean' || arg.includes('=')) {
      own.push(arg);
    } else {
      own.push(arg, ...(argv[i + 1] === undefined ? [] : [argv[++i]!]));
    }
  }
  try {
    const parsed = parseArgs({ args: own, options: flags, allowPositionals: true, strict: true });
    return { ok: true, flags: parsed.values as never, positionals: parsed.positionals, config: loadConfig(rest) };
  } catch (error) {
    if (!(error instanceof ConfigError) && !(error instanceof TypeError)) throw error;
    return { ok: false, message: (error as Error).message };
  }
}

/** Writes `imagegram <command>: <message>` to stderr; returns exit code 1. */
export function fail(command: string, message: string): number {
  process.stderr.write(`imagegram ${command}: ${message}\n`);
  return 1;
}

/** A non-negative integer flag, or null when it is not one. */
export function integerFlag(value: string | undefined, fallback: number): number | null {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  return Number.isSafeInteger(parsed) && parsed >= 0 ? parsed : null;
}
