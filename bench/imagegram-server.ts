import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { signUpAndLogIn, type TestUser } from '../test/support/client.js';
import type { BenchImage } from './fixtures.js';
import { postImage, type UploadTiming } from './multipart-body.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/** A real imagegram process for a scenario, with a logged-in user and the server's pid. */
export interface BenchServer {
  baseUrl: string;
  pid: number;
  /** The server's stdout and stderr (its JSON logs), removed by cleanup(). */
  logPath: string;
  user: TestUser;
  /** Uploads tagged copy `n` of `image` to POST /images as a streamed multipart body; throws unless 201. See postImage. */
  upload(image: BenchImage, n: number, onBodySent?: () => void): Promise<UploadTiming>;
  /**
   * Scrapes GET /metrics once and returns the first sample of each named metric (NaN if absent),
   * e.g. `imagegram_nodejs_eventloop_lag_p99_seconds`. One scrape, because prom-client resets its
   * event-loop-delay histogram on every scrape.
   */
  metrics<Name extends string>(names: readonly Name[]): Promise<Record<Name, number>>;
  /** Kills the process and removes its data dir. */
  cleanup(): Promise<void>;
}

/**
 * Starts `node --import tsx src/main.ts serve` (as test/support/server.ts does) on loopback with a
 * temp data dir and SQLite, and signs a user up. Unlike the test helper, its logs (the default
 * `info` level: two lines per request, as in production) go to a file in the data dir, not through
 * a pipe into this process, whose event loop must stay free to measure; and the child's pid is known.
 * `nodeArgs` go to node before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses).
 */
export async function startBenchServer(env: Record<string, string> = {}, root: string = projectRoot, nodeArgs: string[] = []): Promise<BenchServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'imagegram-bench-server-'));
  const port = await freePort();
  const log = await open(join(dataDir, 'server.log'), 'a');
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: root,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef',
      // One bench user sends hundreds of uploads a minute; the limiter still runs, at its ceiling.
      RATE_LIMIT_PER_MINUTE: '1000000',
      ...env,
    },
    stdio: ['ignore', log.fd, log.fd],
  });
  await log.close();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanup = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitUntilServing(baseUrl, () => child.exitCode !== null, join(dataDir, 'server.log'));
    const user = await signUpAndLogIn(baseUrl, 'bench');
    return {
      baseUrl,
      pid: child.pid!,
      logPath: join(dataDir, 'server.log'),
      user,
      upload: (image, n, onBodySent) => postImage(`${baseUrl}/images`, image, n, user.headers, onBodySent),
      async metrics(names) {
        const response = await request(`${baseUrl}/metrics`);
        const text = await response.body.text();
        const values = {} as Record<(typeof names)[number], number>;
        for (const name of names) {
          const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
          values[name] = match?.[1] === undefined ? Number.NaN : Number(match[1]);
        }
        return values;
      },
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** A port the kernel just handed out and released (a tiny race, fine on a dev machine). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Polls GET /healthz until it answers 200; fails with the server's log if it exits or takes > 60 s. */
async function waitUntilServing(baseUrl: string, hasExited: () => boolean, logPath: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (hasExited()) break;
    try {
      const response = await request(`${baseUrl}/healthz`);
      await response.body.text();
      if (response.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  const output = await readFile(logPath, 'utf8').catch(() => '');
  throw new Error(`imagegram did not start serving:\n${output.slice(-4000)}`);
}
