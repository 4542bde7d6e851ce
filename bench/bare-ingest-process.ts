import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A running baseline server (bench/bare-ingest-server.ts or bench/fastify-peer-server.ts) in its own process. */
export interface BareServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts bench/bare-ingest-server.ts writing into `dir`; with `derivative`, it also renders the 600×600 JPEG. */
export function startBareServer(dir: string, { derivative = false } = {}): Promise<BareServer> {
  return startBaseline('bare-ingest-server.ts', [dir, ...(derivative ? ['--derivative'] : [])], dir, '/');
}

/** Starts bench/fastify-peer-server.ts (Fastify + @fastify/multipart + sharp, durable) writing into `dir`; its URL is the upload route. */
export function startFastifyPeer(dir: string, nodeArgs: string[] = []): Promise<BareServer> {
  return startBaseline('fastify-peer-server.ts', [dir], dir, '/images', nodeArgs);
}

/** Runs a bench script that prints `listening <port>` once serving. */
async function startBaseline(name: string, args: string[], dir: string, route: string, nodeArgs: string[] = []): Promise<BareServer> {
  await mkdir(dir, { recursive: true });
  const script = fileURLToPath(new URL(`./${name}`, import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line.split(' ')[1])));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}${route}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
