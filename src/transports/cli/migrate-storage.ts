import { stat } from 'node:fs/promises';
import { createStorageMigration } from '../../app.js';
import { blobStoreUrl, ConfigError } from '../../config-values.js';
import { isAppError } from '../../core/errors.js';
import type { MigrationReport } from '../../core/blobs/storage-migration.js';
import { fail, parseCommand } from './command-args.js';
import { formatBytes, formatTable, progressBar } from './cli-output.js';

export const migrateStorageUsage = `  migrate-storage --to s3://<bucket>[/<prefix>]?endpoint=… [--from <url>] [--dry-run] [--recheck] [--json]
            copy every blob (originals, derivatives) from the blob store (BLOB_STORE_FALLBACK_URL
            when set, else BLOB_STORE_URL; or --from) to the bucket while servers keep running;
            checks each copy's SHA-256 and records it, so a rerun resumes and copies only what is
            new; exit 0 when nothing is left to copy, 1 on failures, 2 on bad usage, 3 when
            objects written during the run are left (run it again); --recheck ignores the ledger
            and reads back every object again; docs/storage-migration.md`;

const flags = {
  to: { type: 'string' },
  from: { type: 'string' },
  'dry-run': { type: 'boolean' },
  recheck: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/** Exit codes beyond 0 (done) and 1 (failures). */
const usageExit = 2;
const leftExit = 3;

/** `imagegram migrate-storage`: one pass of the storage migration (docs/storage-migration.md). */
export async function migrateStorageCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, flags);
  if (!parsed.ok) return usage(parsed.message);
  const { config } = parsed;
  if (parsed.positionals.length > 0) return usage(`unexpected argument "${parsed.positionals[0]}"`);
  if (parsed.flags.to === undefined) return usage('give the target bucket: --to s3://<bucket>[/<prefix>]?endpoint=<http(s) URL>');
  if (!parsed.flags.to.startsWith('s3://')) return usage(`--to must be an s3:// URL, got "${parsed.flags.to.replace(/^([a-z0-9]+:\/\/)[^/?#@]*@/, '$1***@')}"`);
  const target = storeUrl('--to', parsed.flags.to);
  const source = parsed.flags.from === undefined ? (config.blobStoreFallbackUrl ?? config.blobStoreUrl) : storeUrl('--from', parsed.flags.from);
  if (target instanceof ConfigError) return usage(target.message);
  if (source instanceof ConfigError) return usage(source.message);
  if (source === target) {
    return usage(
      'the source and the target are the same store: after switching BLOB_STORE_URL to the bucket, set BLOB_STORE_FALLBACK_URL (or --from) to the old store',
    );
  }
  // A mistyped directory would list nothing and report "nothing left": refuse it instead.
  if (
    source.startsWith('file:') &&
    !(await stat(source.slice('file:'.length)).then(
      (info) => info.isDirectory(),
      () => false,
    ))
  ) {
    return usage(
      `the source directory ${source.slice('file:'.length)} does not exist (set --from, BLOB_STORE_FALLBACK_URL or BLOB_STORE_URL to the old store)`,
    );
  }
  const dryRun = parsed.flags['dry-run'] ?? false;
  const { migration, ledgerPath, close } = await createStorageMigration(config, source, target);
  const progress = progressBar();
  const abort = new AbortController();
  const interrupt = () => abort.abort();
  process.once('SIGINT', interrupt);
  try {
    const report = await migration.run({
      dryRun,
      recheck: parsed.flags.recheck ?? false,
      signal: abort.signal,
      onProgress: ({ round, done, total }) => progress.update(round === 1 ? 'copying' : `copying (pass ${round})`, done, total),
    });
    progress.stop();
    process.stdout.write(
      parsed.flags.json
        ? `${JSON.stringify({ ...report, source: redact(source), target: redact(target), ledger: ledgerPath }, null, 2)}\n`
        : `${formatReport(report, redact(source), redact(target))}\n`,
    );
    if (report.failed.length > 0) return 1;
    return report.left > 0 && !dryRun ? leftExit : 0;
  } catch (error) {
    progress.stop();
    if (abort.signal.aborted) return fail('migrate-storage', 'interrupted; every verified copy is recorded, run it again to resume');
    if (isAppError(error)) return fail('migrate-storage', `${error.message}; every verified copy so far is recorded, run it again to resume`);
    throw error;
  } finally {
    process.removeListener('SIGINT', interrupt);
    await close();
  }
}

/** The summary `imagegram migrate-storage` prints. */
export function formatReport(report: MigrationReport, source: string, target: string): string {
  const verb = report.dryRun ? 'would copy' : 'copied';
  const lines = [
    `${report.dryRun ? 'Dry run (nothing written): ' : ''}${source} → ${target}`,
    formatTable(
      ['listed', 'copied before', verb, 'bytes', 'retried', 'vanished', 'failed', 'left'],
      [[report.listed, report.alreadyCopied, report.copied, formatBytes(report.bytes), report.retried, report.vanished, report.failed.length, report.left]],
    ),
  ];
  const namespaces = Object.entries(report.byNamespace);
  if (namespaces.length > 0)
    lines.push(
      '',
      formatTable(
        ['namespace', verb, 'bytes'],
        namespaces.map(([name, { objects, bytes }]) => [name, objects, formatBytes(bytes)]),
      ),
    );
  if (report.dryRun) {
    const shown = report.pending.slice(0, 20);
    if (shown.length > 0)
      lines.push(
        '',
        'Would copy:',
        ...shown.map((key) => `  ${key}`),
        ...(report.pending.length > shown.length ? [`  … and ${report.pending.length - shown.length} more (--json lists them all)`] : []),
      );
    return lines.join('\n');
  }
  if (report.failed.length > 0) {
    lines.push(
      '',
      'Failed (not copied; run it again to retry):',
      formatTable(
        ['key', 'reason'],
        report.failed.map((failure) => [failure.key, failure.reason]),
      ),
    );
  }
  if (report.left > 0) {
    lines.push(
      '',
      `${report.left} objects were written to the source during this run and are not copied yet: servers still write to it. Run it again (after the switch, until it reports nothing left).`,
    );
  } else if (report.failed.length === 0) {
    lines.push('', 'Nothing left: every object in the source is in the target, verified by SHA-256.');
  }
  return lines.join('\n');
}

/** A flag's blob store URL, normalised as BLOB_STORE_URL is, or why it is not one. */
function storeUrl(flag: string, value: string): string | ConfigError {
  try {
    return blobStoreUrl(value);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return new ConfigError(error.message.replace('BLOB_STORE_URL', flag));
  }
}

function usage(message: string): number {
  process.stderr.write(`imagegram migrate-storage: ${message}\nUsage: imagegram ${migrateStorageUsage.trimStart()}\n`);
  return usageExit;
}

/** A store URL fit to print: no query string (endpoints may carry tokens). */
function redact(url: string): string {
  return url.split('?')[0]!;
}
