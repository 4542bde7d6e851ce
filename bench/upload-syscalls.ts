/**
 * Diagnostic: the file-system syscalls an imagegram server makes per upload (fsyncs above all),
 * counted by `strace -f -c` attached to the server for `--count` uploads of the 12 MP JPEG, 2 in
 * flight, after 4 warm-up uploads; the window ends 1 s after the last 201, so the metadata jobs of
 * the last uploads are counted too. `--root` serves another checkout (e.g. main, for a before/after).
 *
 * Needs Linux `strace`, allowed to attach to a process it did not start (Yama `ptrace_scope` 0, or
 * root). Usage:
 *   node --import tsx bench/upload-syscalls.ts [--count 20] [--root /path/to/checkout]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchFiles } from './fixtures.js';
import { startBenchServer } from './imagegram-server.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '20' },
    root: { type: 'string' },
  },
});

const syscalls = ['fsync', 'fdatasync', 'openat', 'mkdir', 'mkdirat', 'link', 'linkat', 'rename', 'renameat', 'statx', 'newfstatat'];
const count = Number(values.count);
const files = new BenchFiles();
const server = await startBenchServer({}, values.root === undefined ? undefined : resolve(values.root));
const scratch = await mkdtemp(join(tmpdir(), 'upload-syscalls-'));
const report = join(scratch, 'strace.txt');
try {
  const image = await files.jpeg12mp();
  let n = 0;
  // Warm-up, not counted (as in server-profile.ts).
  for (let i = 0; i < 4; i++) await server.upload(image, ++n);
  const strace = spawn('strace', ['-f', '-c', '-e', `trace=${syscalls.join(',')}`, '-o', report, '-p', String(server.pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise((done) => strace.once('exit', done));
  // strace says so on stderr once it has attached to every thread.
  await new Promise<void>((attached, failed) => {
    strace.stderr.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('attached')) attached();
    });
    strace.once('exit', () => failed(new Error('strace exited before attaching (is ptrace allowed here?)')));
  });
  let started = 0;
  const sender = async (): Promise<void> => {
    while (started < count) {
      started++;
      await server.upload(image, ++n);
    }
  };
  await Promise.all([sender(), sender()]);
  await new Promise((done) => setTimeout(done, 1_000));
  strace.kill('SIGINT');
  await exited;
  const lines = [
    `imagegram (${values.root ?? 'this checkout'}), 12 MP JPEG, ${count} uploads, 2 in flight: syscalls per upload`,
    '',
    '| syscall | per upload | failed |',
    '|---|---|---|',
  ];
  for (const line of (await readFile(report, 'utf8')).split('\n')) {
    // strace -c rows: % time, seconds, usecs/call, calls, [errors,] syscall.
    const row = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)\s*$/.exec(line);
    if (row && row[3] !== 'total') lines.push(`| ${row[3]} | ${(Number(row[1]) / count).toFixed(2)} | ${row[2] ?? 0} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await server.cleanup();
  await files.cleanup();
  await rm(scratch, { recursive: true, force: true });
}
