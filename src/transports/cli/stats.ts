import { createApp } from '../../app.js';
import { fail, parseCommand } from './command-args.js';
import { formatTable } from './cli-output.js';
import { cliLogger } from './cli-logger.js';

export const statsUsage = `  stats [--json]
            upload statistics, as GET /admin/stats: most popular format, top 10 camera models,
            uploads per day over the last 30 days`;

const flags = { json: { type: 'boolean' } } as const;

/** `imagegram stats`: the admin stats as tables (or JSON). */
export async function statsCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, flags);
  if (!parsed.ok) return fail('stats', parsed.message);
  const app = await createApp(parsed.config, cliLogger(parsed.config));
  try {
    const stats = await app.services.stats.read();
    if (parsed.flags.json) {
      process.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
      return 0;
    }
    const popular = stats.popularFormat ? `${stats.popularFormat.format} (${stats.popularFormat.uploads} uploads)` : 'none yet';
    const models = stats.top10CameraModels.map((entry) => [entry.model, entry.uploads]);
    const days = stats.uploadFrequency30Days.map((entry) => [entry.date, entry.uploads]);
    process.stdout.write(
      [
        `Most popular format: ${popular}`,
        '',
        'Top camera models',
        models.length > 0 ? formatTable(['model', 'uploads'], models) : '(no camera models in EXIF yet)',
        '',
        'Uploads per day (UTC), last 30 days',
        formatTable(['date', 'uploads'], days),
      ].join('\n') + '\n',
    );
    return 0;
  } finally {
    await app.close();
  }
}
