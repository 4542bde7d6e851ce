import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { guardServingProcess, type FaultKind } from '../../src/transports/cli/process-guard.js';
import { imagegramEntry } from '../support/entry.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

test('the guard logs an uncaught exception with its error and origin, counts it, and lets the process go on', () => {
  const fake = new EventEmitter();
  const { logger, lines } = capturingLogger();
  const faults: FaultKind[] = [];
  const remove = guardServingProcess(fake, logger, (kind) => faults.push(kind));
  fake.emit('uncaughtException', new Error('a stream error nobody listened for'), 'uncaughtException');
  fake.emit('unhandledRejection', new Error('a forgotten promise'));
  assert.deepEqual(faults, ['uncaught_exception', 'unhandled_rejection']);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.level, 50);
  assert.equal((lines[0]!.err as { message: string }).message, 'a stream error nobody listened for');
  assert.equal(lines[0]!.origin, 'uncaughtException');
  assert.equal((lines[1]!.err as { message: string }).message, 'a forgotten promise');
  remove();
  assert.equal(fake.listenerCount('uncaughtException'), 0);
  assert.equal(fake.listenerCount('unhandledRejection'), 0);
});

test('a rejection with a non-Error reason is logged too', () => {
  const fake = new EventEmitter();
  const { logger, lines } = capturingLogger();
  guardServingProcess(fake, logger);
  fake.emit('unhandledRejection', 'just a string');
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.kind, 'unhandled_rejection');
});

test('a failing metrics callback or logger never turns the handler into a second fault', () => {
  const fake = new EventEmitter();
  const { logger } = capturingLogger();
  guardServingProcess(fake, logger, () => {
    throw new Error('metrics broke');
  });
  assert.doesNotThrow(() => fake.emit('uncaughtException', new Error('first'), 'uncaughtException'));
});

test('on the real process, a throw from a timer and an unawaited rejection are survived and logged', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/support/process-guard.child.ts'], {
    cwd: projectRoot,
    timeout: 60_000,
  });
  const lines = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const report = lines.find((line) => line.alive === true);
  assert.ok(report, `the process went on after both faults:\n${stdout}`);
  assert.deepEqual([...(report.faults as string[])].sort(), ['uncaught_exception', 'unhandled_rejection']);
  const logged = lines
    .filter((line) => line.level === 50)
    .map((line) => (line.err as { message: string }).message)
    .sort();
  assert.deepEqual(logged, ['rejected and never awaited', 'thrown from a timer callback']);
});

test('a failure during start-up still exits 1 with a message (the guard is installed only once listening)', async () => {
  const { createServer } = await import('node:net');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as { port: number }).port;
  const dataDir = await mkdtemp(join(tmpdir(), 'imagegram-startup-'));
  try {
    const env = {
      ...process.env,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      ADMIN_TOKEN: 'test-admin-token-0123456789abcdef',
      RUN_WORKER: 'off',
    };
    const outcome = await promisify(execFile)(process.execPath, [...imagegramEntry(), 'serve'], { cwd: projectRoot, env, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /EADDRINUSE/);
  } finally {
    taken.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
