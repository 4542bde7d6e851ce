import { createApp } from '../../app.js';
import { parseFixedDuration } from '../../core/durations.js';
import type { GcReport } from '../../core/gc/gc-report.js';
import { fail, parseCommand } from './command-args.js';
import { formatBytes, formatTable, progressBar } from './cli-output.js';
import { cliLogger } from './cli-logger.js';

export const gcUsage = `  gc [--dry-run] [--grace <ISO-8601 duration or 0s>] [--force] [--json]
            garbage collection: incomplete uploads, rows whose blob vanished, unreferenced
            blobs, stale staging files, expired resumable uploads; prints found/removed per kind`;

const flags = { 'dry-run': { type: 'boolean' }, grace: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } } as const;

/** `imagegram gc`: one collection against the configured stores, while a server may run. */
export async function gcCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, flags);
  if (!parsed.ok) return fail('gc', parsed.message);
  const { config } = parsed;
  let graceMs = config.gc.graceMs;
  if (parsed.flags.grace !== undefined) {
    const grace = parseFixedDuration(parsed.flags.grace);
    if (grace === null) return fail('gc', `--grace must be an ISO-8601 duration such as PT1H or P1D, or 0s; got "${parsed.flags.grace}"`);
    graceMs = grace;
  }
  const app = await createApp(config, cliLogger(config));
  const progress = progressBar();
  const abort = new AbortController();
  const interrupt = () => abort.abort();
  process.once('SIGINT', interrupt);
  try {
    const report = await app.services.gc.collect({
      graceMs,
      dryRun: parsed.flags['dry-run'] ?? false,
      force: parsed.flags.force ?? false,
      signal: abort.signal,
      onProgress: ({ kind, done, total }) => progress.update(kind, done, total),
    });
    progress.stop();
    process.stdout.write(parsed.flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatGcReport(report)}\n`);
    return 0;
  } catch (error) {
    progress.stop();
    if (abort.signal.aborted) return fail('gc', 'interrupted; whatever was removed so far stays removed, run gc again to finish');
    throw error;
  } finally {
    process.removeListener('SIGINT', interrupt);
    await app.close();
  }
}

/** The summary table `imagegram gc` prints. */
export function formatGcReport(report: GcReport): string {
  const removed = report.dryRun ? 'would remove' : 'removed';
  const rows = report.kinds.map((kind) => [
    kind.kind,
    kind.found,
    kind.removed,
    formatBytes(kind.bytesFreed),
    Object.entries(kind.details)
      .map(([name, count]) => `${name} ${count}`)
      .join(', '),
  ]);
  const lines = [
    `${report.dryRun ? 'Dry run (nothing removed)' : 'Garbage collection'}, grace ${report.graceMs / 1000} s, ${((report.finishedAt - report.startedAt) / 1000).toFixed(1)} s`,
    formatTable(['kind', 'found', removed, 'bytes', 'details'], rows),
    `${report.dryRun ? 'Would free' : 'Freed'} ${formatBytes(report.bytesFreed)}.`,
    ...report.kinds.flatMap((kind) => (kind.note ? [`Note (${kind.kind}): ${kind.note}`] : [])),
  ];
  return lines.join('\n');
}
