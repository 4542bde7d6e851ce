// Run by test/unit/test-processes.test.ts: a test file that starts a long-lived tracked child,
// prints its pid, then ends the way a broken test file does. Usage: processes-fixture.child.ts
//   thrown-before   a suite's `before` throws after starting the child (the file then ends)
//   wait            it waits forever, to be ended by a signal from outside
import { before, describe, test } from 'node:test';
import { spawnTracked } from './processes.js';

const mode = process.argv[2];
const startSleeper = () => {
  const child = spawnTracked(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
  process.stdout.write(`child ${child.pid}\n`);
};

if (mode === 'thrown-before') {
  describe('a suite whose set-up fails half-way', () => {
    before(() => {
      startSleeper();
      throw new Error('set-up failed after starting a process');
    });
    test('never runs', () => {});
  });
} else if (mode === 'wait') {
  startSleeper();
  setInterval(() => {}, 60_000);
} else {
  throw new Error(`unknown mode ${mode}`);
}
