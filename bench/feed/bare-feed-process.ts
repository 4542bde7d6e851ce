import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A running bare feed server (bench/feed/bare-feed-server.ts) in its own process. */
export interface BareFeedServer {
  origin: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts the bare Fastify route serving `body` as `contentType` at GET /posts. */
export async function startBareFeedServer(body: string, contentType: string): Promise<BareFeedServer> {
  const dir = await mkdtemp(join(tmpdir(), 'imagegram-bare-feed-'));
  const bodyFile = join(dir, 'page.json');
  await writeFile(bodyFile, body);
  const script = fileURLToPath(new URL('./bare-feed-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, bodyFile, contentType], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line.split(' ')[1])));
      child.once('exit', (code) => reject(new Error(`bare feed server exited with ${code}`)));
    });
    return { origin: `http://127.0.0.1:${port}`, pid: child.pid!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
