import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { imagegramEntry } from './entry.js';
import { createThrowawayPostgresDatabase, isPostgresRequested } from './postgres.js';
import { spawnTracked } from './processes.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A real imagegram process listening on loopback, driven over HTTP by end-to-end tests. */
export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  dataDir: string;
  adminToken: string;
  env: Record<string, string>;
  /** The server process's id, e.g. to read its peak memory from /proc. */
  pid: number;
  /** Every line the process wrote to stdout/stderr, for assertions on logs. */
  output: string[];
  /** SIGKILLs the process (no graceful shutdown) and waits for it to be gone. */
  kill(): Promise<void>;
  /** Stops it gracefully (SIGTERM) and waits. */
  stop(): Promise<void>;
  /** Starts a new process on the same data dir and database (after kill or stop). */
  restart(): Promise<RunningServer>;
  /** Stops it and removes its data dir and throwaway database. */
  cleanup(): Promise<void>;
}

export interface StartOptions {
  /** Extra environment (e.g. lower limits). */
  env?: Record<string, string>;
  /** Generate the admin token instead of passing ADMIN_TOKEN. */
  generateAdminToken?: boolean;
}

/**
 * Starts the server in a temp data dir, on SQLite — or on a throwaway PostgreSQL database when
 * TEST_DATABASE=postgres (the CI PostgreSQL run). It runs the compiled dist/ when that was built
 * after the last source change, else the sources through tsx (see imagegramEntry): never stale code.
 */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'imagegram-e2e-'));
  const database = isPostgresRequested() ? await createThrowawayPostgresDatabase() : null;
  if (isPostgresRequested() && !database) throw new Error('TEST_DATABASE=postgres but PostgreSQL is not reachable');
  const adminToken = 'test-admin-token-0123456789abcdef';
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    // Most suites sign in many users from 127.0.0.1; the rate-limit suite turns limits back on.
    RATE_LIMIT_PER_MINUTE: '0',
    LOGIN_RATE_LIMIT_PER_MINUTE: '0',
    // Likewise the concurrent-upload caps; the slow-clients suite sets its own.
    MAX_CONCURRENT_UPLOADS_PER_USER: '0',
    MAX_CONCURRENT_UPLOADS_PER_IP: '0',
    ...(options.generateAdminToken ? {} : { ADMIN_TOKEN: adminToken }),
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...options.env,
  };
  const launch = async (): Promise<RunningServer> => {
    const { child, baseUrl, output, exited } = await spawnServer(env);
    const server: RunningServer = {
      baseUrl,
      dataDir,
      adminToken,
      env,
      pid: child.pid!,
      output,
      async kill() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      },
      restart: launch,
      async cleanup() {
        await server.kill();
        await rm(dataDir, { recursive: true, force: true });
        await database?.drop();
      },
    };
    return server;
  };
  try {
    return await launch();
  } catch (error) {
    // Nobody gets a handle to clean up after a server that never listened: do it here.
    await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
    throw error;
  }
}

/** Starts `imagegram serve`; resolves once it listens, else kills it and rejects (never leaves it running). */
async function spawnServer(env: Record<string, string>): Promise<{ child: ChildProcess; baseUrl: string; output: string[]; exited: Promise<void> }> {
  const child = spawnTracked(process.execPath, [...imagegramEntry(), 'serve'], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // 'close', not 'exit': once its pipes are drained too, so the last lines are in `output`.
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
  const output: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  try {
    const baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start within 60 s:\n${output.join('\n')}`)), 60_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        output.push(line);
        const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code ?? signal} before listening:\n${output.join('\n')}`));
      });
    });
    return { child, baseUrl, output, exited };
  } catch (error) {
    // A server that never listens is killed and waited for, not left to hold the test run open.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    throw error;
  }
}
