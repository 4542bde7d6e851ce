// Diagnostic preload for the server (`npm run bench -- --only event-loop --diagnose` passes it via
// NODE_OPTIONS=--import): on the main thread only, logs every GC pause ≥ 2 ms and every event-loop
// stall ≥ 15 ms to stderr as `BENCH-WATCH gc|block <ms> <epoch ms>`, so stalls can be attributed.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  // perf_hooks GC kinds: 1 minor (scavenge), 2 major (mark-compact), 4 incremental marking, 8 weak callbacks.
  const kinds = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration >= 2) process.stderr.write(`BENCH-WATCH gc-${kinds[entry.detail?.kind] ?? 'other'} ${entry.duration.toFixed(1)} ${Date.now()}\n`);
    }
  }).observe({ entryTypes: ['gc'] });
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last - 5 >= 15) process.stderr.write(`BENCH-WATCH block ${(now - last - 5).toFixed(1)} ${Date.now()}\n`);
    last = now;
  }, 5).unref();
}
