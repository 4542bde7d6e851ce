import { readFile } from 'node:fs/promises';
import { fmt, max, percentile } from './stats.js';

/**
 * `--diagnose`: what bench/main-thread-watch.mjs saw on the server's main thread during the uploads
 * (not the idle phases): GC pauses by kind and event-loop stalls ≥ 15 ms, with totals per upload.
 */
export async function mainThreadReport(logPath: string, windows: readonly [number, number][]): Promise<string> {
  const events = new Map<string, number[]>();
  for (const line of (await readFile(logPath, 'utf8')).split('\n')) {
    const match = /^BENCH-WATCH (\S+) ([\d.]+) (\d+)$/.exec(line);
    if (!match) continue;
    const at = Number(match[3]);
    if (!windows.some(([start, end]) => at >= start && at <= end)) continue;
    events.set(match[1]!, [...(events.get(match[1]!) ?? []), Number(match[2])]);
  }
  const lines = [...events].sort().map(([kind, ms]) => {
    const total = ms.reduce((sum, value) => sum + value, 0);
    return `| ${kind} | ${ms.length} | ${fmt(total / windows.length)} | ${fmt(percentile(ms, 50))} | ${fmt(max(ms))} |`;
  });
  return [
    `Server main thread during the ${windows.length} measured BMP uploads (--diagnose; GC pauses ≥ 2 ms, stalls ≥ 15 ms):`,
    '',
    '| event | count | ms per upload | median ms | max ms |',
    '|---|---|---|---|---|',
    ...lines,
  ].join('\n');
}
