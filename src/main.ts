import { runCli } from './transports/cli/main.js';

/** Entry point: `node dist/main.js <command> [options]`; `--help` lists the commands and options. */
runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`imagegram: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
