import { fileURLToPath } from 'node:url';
import { spawnTracked } from './processes.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** How a CLI run ended, shaped like spawnSync's result. */
export interface CliRun {
  /** The exit code, or null when a signal ended it. */
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `imagegram <args>` to its end, asynchronously (HTTP traffic and other processes go on
 * meanwhile), with `env` on top of this process's — pass a server's `env` so it opens the same
 * DATA_DIR, DATABASE_URL and ADMIN_TOKEN. Rejects when it runs past `timeoutMs` (it is killed).
 */
export function runImagegram(env: Record<string, string>, args: string[], { timeoutMs = 60_000 } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(process.execPath, ['bin/imagegram.js', ...args], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`imagegram ${args.join(' ')} ran over ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close', not 'exit': by then stdout and stderr are read to their end.
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
