/**
 * `npm run bench [-- --only <name>] [--pairs <n>] [--diagnose]`: runs the scenarios, prints one markdown table
 * of figures relative to bare baselines measured in the same run (alternating A/B pairs, median of
 * the pair ratios — this machine's absolute numbers swing 2× between runs, see STYLE.md), and writes
 * it to bench/results/latest.md. Bounded to a few minutes on the 2-core dev machine.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { eventLoopDelay } from './event-loop-delay.js';
import { BenchFiles } from './fixtures.js';
import { ingestLargeUpload } from './ingest-large-upload.js';
import { ingestPhases } from './ingest-phases.js';
import type { Scenario, ScenarioContext } from './scenario.js';
import { formatTable, fmt, type ResultRow } from './stats.js';
import { uploadThroughput } from './upload-throughput.js';

const scenarios: Scenario[] = [uploadThroughput, ingestLargeUpload, eventLoopDelay, ingestPhases];

const { values } = parseArgs({
  options: { only: { type: 'string' }, pairs: { type: 'string', default: '5' }, diagnose: { type: 'boolean', default: false } },
});
const selected = values.only ? scenarios.filter((scenario) => scenario.name === values.only) : scenarios;
if (selected.length === 0) {
  process.stderr.write(`unknown scenario "${values.only}"; one of: ${scenarios.map((s) => s.name).join(', ')}\n`);
  process.exit(2);
}
const pairs = Number(values.pairs);
if (!Number.isInteger(pairs) || pairs < 1) throw new Error('--pairs must be a positive integer');

/** Everything a reader needs to judge the figures: machine, versions, date, load, how long it took. */
function describeRun(seconds: number, loadBefore: number): string {
  return [
    `- date: ${new Date().toISOString()}`,
    `- machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${fmt(totalmem() / 2 ** 30, 0)} GiB RAM, ${process.platform} ${process.arch}`,
    `- node ${process.version}, sharp ${sharp.versions.sharp ?? '?'} (libvips ${sharp.versions.vips})`,
    `- ${pairs} A/B pairs per figure, baseline first in each pair; whole run ${fmt(seconds, 0)} s`,
    // Other work on the machine competes for its 2 cores: the ratios absorb some of it, absolute
    // latencies do not.
    `- 1-minute load average: ${fmt(loadBefore, 2)} before the run, ${fmt(loadavg()[0]!, 2)} after`,
  ].join('\n');
}

const files = new BenchFiles();
const context: ScenarioContext = {
  files,
  pairs,
  diagnose: values.diagnose ?? false,
  log: (message) => process.stderr.write(`${message}\n`),
};
const started = performance.now();
const loadBefore = loadavg()[0]!;
const rows: ResultRow[] = [];
const sections: string[] = [];
try {
  for (const scenario of selected) {
    const scenarioStart = performance.now();
    context.log(`# ${scenario.name}`);
    const result = await scenario.run(context);
    rows.push(...result.rows);
    if (result.section) sections.push(result.section);
    context.log(`# ${scenario.name} took ${fmt((performance.now() - scenarioStart) / 1000, 0)} s`);
  }
} finally {
  await files.cleanup();
}

const tables = [...(rows.length > 0 ? [formatTable(rows)] : []), ...sections];
const report = `${tables.join('\n\n')}\n\n${describeRun((performance.now() - started) / 1000, loadBefore)}\n`;
process.stdout.write(report);
const resultsDir = new URL('./results/', import.meta.url);
await mkdir(resultsDir, { recursive: true });
await writeFile(new URL('latest.md', resultsDir), report);
