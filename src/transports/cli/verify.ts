import { createApp } from '../../app.js';
import { fail, parseCommand } from './command-args.js';
import { formatBytes, formatTable, progressBar } from './cli-output.js';
import { cliLogger } from './cli-logger.js';

export const verifyUsage = `  verify [--json]
            re-hash every stored original; list those whose bytes no longer match their
            address (and referenced ones that are missing); exit 1 if there are any`;

const flags = { json: { type: 'boolean' } } as const;

/** `imagegram verify`: exit 0 when every original hashes to its address, 1 otherwise. */
export async function verifyCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, flags);
  if (!parsed.ok) return fail('verify', parsed.message);
  const app = await createApp(parsed.config, cliLogger(parsed.config));
  const progress = progressBar();
  try {
    const report = await app.services.verification.verify({ onProgress: ({ done, total }) => progress.update('verifying', done, total) });
    progress.stop();
    if (parsed.flags.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const lines = [`Checked ${report.checked} originals (${formatBytes(report.bytes)}).`];
      if (report.corrupt.length > 0) {
        lines.push(
          `${report.corrupt.length} no longer match their address:`,
          formatTable(
            ['key', 'hash of the bytes now', 'bytes'],
            report.corrupt.map((blob) => [blob.key, blob.actual, blob.size]),
          ),
        );
      }
      if (report.missing.length > 0) lines.push(`${report.missing.length} referenced originals are missing:`, ...report.missing.map((sha256) => `  ${sha256}`));
      if (report.corrupt.length + report.missing.length === 0) lines.push('All intact.');
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return report.corrupt.length + report.missing.length === 0 ? 0 : 1;
  } finally {
    progress.stop();
    await app.close();
  }
}
