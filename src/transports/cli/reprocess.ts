import { createApp } from '../../app.js';
import { fail, parseCommand } from './command-args.js';
import { progressBar } from './cli-output.js';
import { cliLogger } from './cli-logger.js';

export const reprocessUsage = `  reprocess [--metadata] [--wait]
            queue jobs rendering every image's 600×600 JPEG again from its original (and, with
            --metadata, re-reading its EXIF); --wait runs a worker here until they are done`;

const flags = { metadata: { type: 'boolean' }, wait: { type: 'boolean' } } as const;
const reprocessJobs = ['blob.render-derivative', 'image.extract-metadata'];

/** `imagegram reprocess`: queues derivative (and metadata) jobs; any worker runs them. */
export async function reprocessCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, flags);
  if (!parsed.ok) return fail('reprocess', parsed.message);
  const app = await createApp(parsed.config, cliLogger(parsed.config));
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
      process.stdout.write('The server\'s worker (or `imagegram worker`) runs them; `imagegram jobs` shows progress.\n');
      return 0;
    }
    const worker = app.startWorker();
    for (;;) {
      const pending = await Promise.all(reprocessJobs.flatMap((name) => [app.store.jobs.list({ name, state: 'queued', limit: 1 }), app.store.jobs.list({ name, state: 'running', limit: 1 })]));
      if (pending.every((jobs) => jobs.length === 0) && worker.busy === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const parked = await Promise.all(reprocessJobs.map((name) => app.store.jobs.list({ name, state: 'parked', limit: 200 })));
    const failures = parked.flat().filter((job) => job.finishedAt !== null && job.finishedAt >= Date.now() - 24 * 3_600_000);
    process.stdout.write(`Done.${failures.length > 0 ? ` ${failures.length} jobs were parked in the last day: see \`imagegram jobs --state parked\`.` : ''}\n`);
    return failures.length > 0 ? 1 : 0;
  } finally {
    progress.stop();
    await app.close();
  }
}
