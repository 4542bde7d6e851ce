import type { Logger } from 'pino';
import { createApp } from '../../app.js';
import type { Config } from '../../config.js';

/**
 * `imagegram worker`: a job worker without the HTTP server, for running jobs in processes of
 * their own (any number, on PostgreSQL). SIGTERM/SIGINT finish running jobs (or give their leases
 * back after JOB_DRAIN_SECONDS) and exit 0.
 */
export async function workerCommand(config: Config, logger: Logger): Promise<void> {
  const app = await createApp(config, logger, { longRunning: 'worker' });
  app.startWorker();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping the job worker');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await app.close();
}
