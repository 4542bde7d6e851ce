import type { Logger } from 'pino';
import { createApp } from '../../app.js';
import type { Config } from '../../config.js';
import { buildHttpServer } from '../http.js';
import { guardServingProcess } from './process-guard.js';

/**
 * Starts the HTTP server (and, unless `RUN_WORKER=off`, a job worker) and shuts down gracefully on
 * SIGTERM/SIGINT: in-flight requests finish, running jobs finish or give their leases back, then
 * storage closes.
 */
export async function serve(config: Config, logger: Logger): Promise<void> {
  const app = await createApp(config, logger, { longRunning: 'serve' });
  const http = await buildHttpServer(app);
  // So the first feed hits already come from memory (the channel on PostgreSQL takes a moment).
  if (!(await app.services.feed.listenForChanges(5_000)))
    logger.warn('feed changes of other processes not heard yet: the feed version is read for every request until they are');
  if (config.jobs.runWorker) app.startWorker();
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('in-flight requests did not finish within 30 s; exiting');
      process.exit(1);
    }, 30_000);
    deadline.unref();
    await http.close();
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  await http.listen({ port: config.port, host: config.host });
  // Only now: a fault before this point (bad config, a database that will not open, a taken port)
  // rejects serve(), and main exits 1 with the message.
  guardServingProcess(process, logger, (kind) => app.metrics.processFaults.inc({ kind }));
}
