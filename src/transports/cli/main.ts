import { pino } from 'pino';
import { createApp } from '../../app.js';
import { ConfigError, loadConfig } from '../../config.js';
import { createUploadLinkCommand, createUploadLinkUsage } from './create-upload-link.js';
import { serve } from './serve.js';

const usage = `Usage: imagegram <command> [options]

Commands:
  serve     start the HTTP server (default)
  migrate   apply database migrations and exit
${createUploadLinkUsage}

Options (each also read from the environment variable in brackets):
  --port [PORT]  --host [HOST]  --data-dir [DATA_DIR]  --database-url [DATABASE_URL]
  --blob-store-url [BLOB_STORE_URL]  --admin-token [ADMIN_TOKEN]  --log-level [LOG_LEVEL]
  --max-upload-bytes [MAX_UPLOAD_BYTES]  --max-image-pixels [MAX_IMAGE_PIXELS]
  --max-image-dimension [MAX_IMAGE_DIMENSION]  --session-ttl-seconds [SESSION_TTL_SECONDS]
  --rate-limit-per-minute [RATE_LIMIT_PER_MINUTE]  --login-rate-limit-per-minute [LOGIN_RATE_LIMIT_PER_MINUTE]
  --idempotency-ttl-seconds [IDEMPOTENCY_TTL_SECONDS]  --feed-cache-bytes [FEED_CACHE_BYTES]
  --upload-expiry-seconds [UPLOAD_EXPIRY_SECONDS]  --upload-sweep-interval-seconds [UPLOAD_SWEEP_INTERVAL_SECONDS]
  --upload-link-max-bytes [UPLOAD_LINK_MAX_BYTES]  --upload-link-max-images [UPLOAD_LINK_MAX_IMAGES]`;

/** Runs one CLI command; resolves with the process exit code (serve never resolves until shutdown). */
export async function runCli(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv[0]?.startsWith('-') ? ['serve', ...argv] : argv;
  if (command === 'help' || command === '--help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  // It has flags of its own (--expires), which the configuration parser would refuse.
  if (command === 'create-upload-link') return createUploadLinkCommand(rest);
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
    case 'serve':
      await serve(config, logger);
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
