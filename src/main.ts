import { StartupError } from './startup-error.js';
import { runCli } from './transports/cli/main.js';

/** Entry point: `node dist/main.js <command> [options]`; `--help` lists the commands and options. */
runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (error: unknown) => {
    // A setting or the environment to fix: the message says what, a stack trace would only bury it.
    if (error instanceof StartupError) {
      process.stderr.write(`imagegram: cannot start: ${error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`imagegram: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
