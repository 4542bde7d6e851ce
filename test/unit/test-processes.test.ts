import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/client.js';

// The test support's promise: no process a test file starts outlives that file (test/support/processes.ts).

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Running and not a zombie (an orphan's zombie may never be reaped where pid 1 is not init). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Starts the fixture test file; resolves with it and the pid of the child it started. */
async function startFixture(mode: string): Promise<{ fixture: ChildProcess; childPid: number; stderr: () => string; closed: Promise<unknown> }> {
  const fixture = spawn(process.execPath, ['--import', 'tsx', 'test/support/processes-fixture.child.ts', mode], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const closed = new Promise((resolve) => fixture.once('close', resolve));
  let stderr = '';
  fixture.stderr.on('data', (chunk) => (stderr += chunk));
  try {
    const childPid = await new Promise<number>((resolve, reject) => {
      createInterface({ input: fixture.stdout }).on('line', (line) => {
        const match = /^child (\d+)$/.exec(line);
        if (match) resolve(Number(match[1]));
      });
      void closed.then(() => reject(new Error(`the fixture ended before starting its child:\n${stderr}`)));
    });
    return { fixture, childPid, stderr: () => stderr, closed };
  } catch (error) {
    fixture.kill('SIGKILL');
    throw error;
  }
}

test('a child started before a `before` hook threw is killed when the file ends, and the leak is reported', { timeout: 60_000 }, async () => {
  const { childPid, stderr, closed } = await startFixture('thrown-before');
  await closed;
  assert.equal(isRunning(childPid), false, 'the child outlived its test file');
  assert.match(stderr(), /killed 1 child process\(es\) still running at the end of the file/);
});

for (const signal of ['SIGTERM', 'SIGINT', 'SIGKILL'] as const) {
  test(`a child is ended when its test file is ended by ${signal}`, { timeout: 60_000 }, async () => {
    const { fixture, childPid, closed } = await startFixture('wait');
    try {
      assert.equal(isRunning(childPid), true);
      fixture.kill(signal);
      await closed;
      // SIGTERM and SIGINT: killed by the file's handler before it goes. SIGKILL: no handler runs;
      // the child notices it was orphaned (it polls once a second) and ends itself.
      await eventually(async () => (isRunning(childPid) ? undefined : true), { timeoutMs: 30_000, what: `child ${childPid} to end` });
    } finally {
      fixture.kill('SIGKILL');
      if (isRunning(childPid)) process.kill(childPid, 'SIGKILL');
    }
  });
}
