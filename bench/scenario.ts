import type { BenchFiles } from './fixtures.js';
import type { ResultRow } from './stats.js';

/** What every scenario gets from the runner. */
export interface ScenarioContext {
  files: BenchFiles;
  /** A/B pairs to measure (≥ 5). */
  pairs: number;
  /** `--diagnose`: scenarios that can, also instrument the server (costs a little; not for budgets). */
  diagnose: boolean;
  /** Progress on stderr, so stdout carries only the table. */
  log(message: string): void;
}

/** What a scenario reports: lines of the main table, and optionally its own markdown section. */
export interface ScenarioResult {
  rows: ResultRow[];
  section?: string;
}

/** One benchmark: measures alternating bare-baseline/imagegram pairs (or, for diagnostics, phases). */
export interface Scenario {
  /** The `--only` name. */
  name: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

/**
 * Keeps `concurrency` tasks in flight, starting new ones until `seconds` have passed, then waits for
 * the last; resolves with how many ran and the elapsed seconds (so `count / seconds` is the rate).
 * Time-boxed rather than a fixed count, so a slow side cannot blow the whole run's time budget.
 */
export async function runFor(seconds: number, concurrency: number, task: (index: number) => Promise<unknown>): Promise<{ count: number; seconds: number }> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) await task(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { count: next, seconds: (performance.now() - start) / 1000 };
}
