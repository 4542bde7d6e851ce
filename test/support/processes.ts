import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { after } from 'node:test';

/**
 * Child processes started by tests, and the guarantee that none outlives the test file that
 * started it. A leaked server is worse than a failed test: its stdout pipe keeps the test file's
 * event loop alive, so the run hangs instead of failing, and it holds a port and a database.
 *
 * Three nets, for the three ways a test file can end:
 * - normally, with a test that forgot (or never reached) its cleanup — a failed start-up, a
 *   thrown `before`, a timeout: a root-level `after` hook SIGKILLs whatever is still running;
 * - by a signal (the runner cancelled, Ctrl-C) or process.exit: the same, synchronously;
 * - SIGKILLed itself, when no handler runs: each Node child is started with a preload that ends
 *   it once its parent is gone (test/support/exit-with-parent.mjs).
 */
const running = new Set<ChildProcess>();

const exitWithParent = new URL(`./exit-with-parent.mjs?parent=${process.pid}`, import.meta.url).href;

/**
 * `child_process.spawn`, tracked: the child is SIGKILLed when this test file ends however it ends.
 * A Node child (`process.execPath`) also ends itself if this process dies without a chance to act.
 * Typed as `spawn` itself, so each call keeps spawn's precise stdio types.
 */
export const spawnTracked = ((command: string, argsOrOptions?: readonly string[] | SpawnOptions, maybeOptions?: SpawnOptions): ChildProcess => {
  const args = Array.isArray(argsOrOptions) ? (argsOrOptions as readonly string[]) : [];
  const options = (Array.isArray(argsOrOptions) ? maybeOptions : (argsOrOptions as SpawnOptions | undefined)) ?? {};
  const isNode = command === process.execPath;
  const child = spawn(command, isNode ? ['--import', exitWithParent, ...args] : [...args], options);
  running.add(child);
  // 'close' rather than 'exit': until then its pipes still hold this process's event loop.
  child.once('close', () => running.delete(child));
  // A spawn that fails (ENOENT, EMFILE) emits 'error' and no 'close' may follow.
  child.once('error', () => running.delete(child));
  return child;
}) as typeof spawn;

/** SIGKILLs every tracked child that is still running; safe to call from an 'exit' handler. */
export function killTrackedProcesses(): number {
  let killed = 0;
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      killed += 1;
    }
    // Without this, a child's half-read pipes would still keep the event loop alive.
    child.stdout?.destroy();
    child.stderr?.destroy();
    child.stdin?.destroy();
    running.delete(child);
  }
  return killed;
}

// The root hook runs after every test and suite of the file, their own `after` hooks included:
// anything left then is a leak, reported on stderr so that it gets fixed where it started.
after(() => {
  const killed = killTrackedProcesses();
  if (killed > 0) process.stderr.write(`test/support/processes: killed ${killed} child process(es) still running at the end of the file\n`);
});
process.once('exit', () => killTrackedProcesses());
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killTrackedProcesses();
    // The listener is gone (once): re-raising the signal ends this process as it would have.
    process.kill(process.pid, signal);
  });
}
