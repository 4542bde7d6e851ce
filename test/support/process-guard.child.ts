/**
 * Run by clients-process-guard.test.ts: installs the real guard on the real `process`, then
 * provokes an uncaught exception and an unhandled rejection the way library bugs do (a throw
 * from a timer, a rejected promise nobody awaits) and shows it is still running afterwards.
 */
import { pino } from 'pino';
import { guardServingProcess } from '../../src/transports/cli/process-guard.js';

const logger = pino({ level: 'info' });
const faults: string[] = [];
guardServingProcess(process, logger, (kind) => faults.push(kind));

setImmediate(() => {
  throw new Error('thrown from a timer callback');
});
void Promise.reject(new Error('rejected and never awaited'));

// Well after both faults have been delivered (they come first, on the next ticks), answer.
const ticks = async () => {
  while (faults.length < 2) await new Promise((resolve) => setImmediate(resolve));
};
await ticks();
process.stdout.write(`${JSON.stringify({ alive: true, faults })}\n`);
