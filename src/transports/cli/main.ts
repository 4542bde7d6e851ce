import { pino } from 'pino';
import { createApp } from '../../app.js';
import { ConfigError, loadConfig } from '../../config.js';
import { createUploadLinkCommand, createUploadLinkUsage } from './create-upload-link.js';
import { eventsCommand, eventsUsage } from './events.js';
import { gcCommand, gcUsage } from './gc.js';
import { importCommand, importUsage } from './import.js';
import { jobsCommand, jobsUsage } from './jobs.js';
import { reprocessCommand, reprocessUsage } from './reprocess.js';
import { statsCommand, statsUsage } from './stats.js';
import { verifyCommand, verifyUsage } from './verify.js';
import { workerCommand } from './worker.js';

const usage = `Usage: imagegram <command> [options]

Commands:
  serve     start the HTTP server (default), with a job worker unless RUN_WORKER=off
  worker    run a job worker alone (no HTTP)
  migrate   apply database migrations and exit
${gcUsage}
${verifyUsage}
${statsUsage}
${eventsUsage}
${jobsUsage}
${reprocessUsage}
${importUsage}
${createUploadLinkUsage}

Options (each also read from the environment variable in brackets):
  --port [PORT]  --host [HOST]  --data-dir [DATA_DIR]  --database-url [DATABASE_URL]
  --blob-store-url [BLOB_STORE_URL]  --admin-token [ADMIN_TOKEN]  --log-level [LOG_LEVEL]
  --max-upload-bytes [MAX_UPLOAD_BYTES]  --max-image-pixels [MAX_IMAGE_PIXELS]
  --max-image-dimension [MAX_IMAGE_DIMENSION]  --decode-memory-bytes [DECODE_MEMORY_BYTES]
  --session-ttl-seconds [SESSION_TTL_SECONDS]
  --rate-limit-per-minute [RATE_LIMIT_PER_MINUTE]  --login-rate-limit-per-minute [LOGIN_RATE_LIMIT_PER_MINUTE]
  --idempotency-ttl-seconds [IDEMPOTENCY_TTL_SECONDS]  --feed-cache-bytes [FEED_CACHE_BYTES]
  --redis-url [REDIS_URL]  --redis-key-prefix [REDIS_KEY_PREFIX]
  --upload-expiry-seconds [UPLOAD_EXPIRY_SECONDS]  --upload-sweep-interval-seconds [UPLOAD_SWEEP_INTERVAL_SECONDS]
  --upload-link-max-bytes [UPLOAD_LINK_MAX_BYTES]  --upload-link-max-images [UPLOAD_LINK_MAX_IMAGES]
  --run-worker [RUN_WORKER]  --worker-concurrency [WORKER_CONCURRENCY]  --job-lease-seconds [JOB_LEASE_SECONDS]
  --job-poll-ms [JOB_POLL_MS]  --job-retry-base-ms [JOB_RETRY_BASE_MS]  --job-drain-seconds [JOB_DRAIN_SECONDS]
  --gc-interval-seconds [GC_INTERVAL_SECONDS]  --gc-grace [GC_GRACE]  --read-repair-after [READ_REPAIR_AFTER]
  --max-concurrent-uploads-per-user [MAX_CONCURRENT_UPLOADS_PER_USER]  --max-concurrent-uploads-per-ip [MAX_CONCURRENT_UPLOADS_PER_IP]
  --body-idle-timeout-seconds [BODY_IDLE_TIMEOUT_SECONDS]  --request-timeout-seconds [REQUEST_TIMEOUT_SECONDS]
  --headers-timeout-seconds [HEADERS_TIMEOUT_SECONDS]  --keep-alive-timeout-seconds [KEEP_ALIVE_TIMEOUT_SECONDS]
  --max-connections [MAX_CONNECTIONS]  --trust-proxy [TRUST_PROXY]`;

/** Commands with flags of their own, which the configuration parser alone would refuse. */
const commandsWithFlags: Record<string, (argv: string[]) => Promise<number>> = {
  'create-upload-link': createUploadLinkCommand,
  gc: gcCommand,
  verify: verifyCommand,
  stats: statsCommand,
  events: eventsCommand,
  jobs: jobsCommand,
  reprocess: reprocessCommand,
  import: importCommand,
};

/** Runs one CLI command; resolves with the process exit code (serve never resolves until shutdown). */
export async function runCli(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv[0]?.startsWith('-') ? ['serve', ...argv] : argv;
  if (command === 'help' || command === '--help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const withFlags = commandsWithFlags[command];
  if (withFlags) return withFlags(rest);
  let config;
  try {
    config = loadConfig(rest);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`imagegram: invalid configuration: ${error.message}\n`);
    return 1;
  }
  const logger = pino({ level: config.logLevel });
  switch (command) {
    case 'serve': {
      // Loaded on demand: the HTTP stack (Fastify, Mercurius, GraphQL, swagger) is over half the
      // start-up time of a CLI command such as `gc` or `verify`, which never needs it.
      const { serve } = await import('./serve.js');
      await serve(config, logger);
      return 0;
    }
    case 'worker':
      await workerCommand(config, logger);
      return 0;
    case 'migrate': {
      const app = await createApp(config, logger);
      await app.close();
      process.stdout.write('migrations applied\n');
      return 0;
    }
    default:
      process.stderr.write(`imagegram: unknown command "${command}"\n\n${usage}\n`);
      return 1;
  }
}
