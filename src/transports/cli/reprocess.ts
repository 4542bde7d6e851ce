import { createApp } from '../../app.js';
import { fail, parseCommand } from './command-args.js';
import { progressBar } from './cli-output.js';
import { cliLogger } from './cli-logger.js';

export const reprocessUsage = `  reprocess [--metadata] [--wait]
            queue jobs rendering every image's 600×600 JPEG again from its original (and, with
            --metadata, re-reading its EXIF); --wait runs a worker here until they are done`;

const flags = { metadata: { type: 'boolean' }, wait: { type: 'boolean' } } as const;

/** `imagegram reprocess`: queues derivative (and metadata) jobs; any worker runs them. */
export async function reprocessCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, flags);
  if (!parsed.ok) return fail('reprocess', parsed.message);
  const app = await createApp(parsed.config, cliLogger(parsed.config));
  const startedAt = Date.now();
  const progress = progressBar();
  try {
    const summary = await app.services.reprocessing.enqueue({
      derivatives: true,
      metadata: parsed.flags.metadata ?? false,
      onProgress: (queued) => progress.update('queueing', queued, null),
    });
    progress.stop();
    process.stdout.write(`Queued ${summary.derivatives} derivative and ${summary.metadata} metadata jobs (${summary.alreadyQueued} were queued already).\n`);
    if (!parsed.flags.wait) {
      process.stdout.write("The server's worker (or `imagegram worker`) runs them; `imagegram jobs` shows progress.\n");
      return 0;
    }
    const worker = app.startWorker();
    while ((await app.services.reprocessing.inProgress()) || worker.busy > 0) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const parked = await app.services.reprocessing.parkedSince(startedAt);
    process.stdout.write(`Done.${parked > 0 ? ` ${parked} jobs were parked: see \`imagegram jobs --state parked\`.` : ''}\n`);
    return parked > 0 ? 1 : 0;
  } finally {
    progress.stop();
    await app.close();
  }
}
