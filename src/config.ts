import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  blobStoreUrl,
  boolean,
  ConfigError,
  corsOrigins,
  databaseUrl,
  duration,
  integer,
  logLevel,
  redisKeyPrefix,
  redisUrl,
  secret,
  trustProxy,
} from './config-values.js';

export { ConfigError } from './config-values.js';

/**
 * Everything the process can be configured with; defaults are the embedded mode (one process,
 * SQLite and a local directory). Each field comes from one entry of `configOptions` below, which
 * holds its variable, flag, default and documentation.
 */
export interface Config {
  port: number;
  host: string;
  /** Absolute. */
  dataDir: string;
  /** `sqlite:<absolute path>` or `postgres://…`. */
  databaseUrl: string;
  /** `file:<absolute dir>` or `s3://<bucket>/[<prefix>/]?endpoint=…&region=…&forcePathStyle=…`, normalised. */
  blobStoreUrl: string;
  /** A store read only when a read misses `blobStoreUrl`, while a storage migration finishes; unset: none. Normalised like it. */
  blobStoreFallbackUrl: string | undefined;
  /** Unset: generated on first start and kept in the data dir. */
  adminToken: string | undefined;
  /** Unset: generated on first start and kept in the shared database. */
  cursorSecret: string | undefined;
  maxUploadBytes: number;
  maxImagePixels: number;
  maxImageDimension: number;
  /** Memory all image decodes in flight may hold together: decodes wait for their share; one needing more than all of it is refused (422). */
  decodeMemoryBytes: number;
  sessionTtlSeconds: number;
  logLevel: string;
  /** 0 disables. */
  rateLimitPerMinute: number;
  /** 0 disables. */
  loginRateLimitPerMinute: number;
  idempotencyTtlSeconds: number;
  /** 0 turns the in-process page cache off. */
  feedCacheBytes: number;
  /** 0 reads the feed version for every request. */
  feedVersionMaxAgeMs: number;
  /** Unset keeps the page cache and rate-limit counters in the process. */
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  uploads: UploadsConfig;
  /** Guards against slow, stuck and greedy clients; see docs/operations.md "Slow and greedy clients". */
  clients: ClientLimitsConfig;
  graphql: GraphqlConfig;
  jobs: JobsConfig;
  gc: GcConfig;
  /** Debug aid: `x-query-count` (SQL statements run) on every response. */
  debugQueryCount: boolean;
}

export interface GraphqlConfig {
  maxDepth: number;
  maxCost: number;
  cacheMaxAgeSeconds: number;
  /** Schema introspection and GraphiQL. */
  introspection: boolean;
}

export interface JobsConfig {
  /** Whether `serve` runs a job worker in the web process; `imagegram worker` runs one alone. */
  runWorker: boolean;
  concurrency: number;
  leaseSeconds: number;
  pollMs: number;
  retryBaseMs: number;
  drainSeconds: number;
}

export interface GcConfig {
  /** 0 turns the periodic collection off. */
  intervalSeconds: number;
  graceMs: number;
  readRepairAfterMs: number;
}

export interface ClientLimitsConfig {
  bodyIdleTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  headersTimeoutSeconds: number;
  keepAliveTimeoutSeconds: number;
  /** 0 is no cap. */
  maxConnections: number;
  /** 0 is no cap. */
  maxConcurrentUploadsPerUser: number;
  /** 0 is no cap. */
  maxConcurrentUploadsPerIp: number;
  /** Fastify's `trustProxy`: off, on, a hop count, or addresses/CIDRs joined by commas. */
  trustProxy: boolean | number | string;
  /** Origins whose browser pages may call the API (CORS), or `*` for any; empty: same origin only. */
  corsOrigins: '*' | string[];
}

export interface UploadsConfig {
  expirySeconds: number;
  /** 0 turns the sweep off. */
  sweepIntervalSeconds: number;
  linkMaxBytes: number;
  linkMaxImages: number;
}

/** What an option's default or parser may depend on. */
export interface OptionContext {
  /** The data dir, already resolved: other paths default into it. */
  dataDir: string;
  env: NodeJS.ProcessEnv;
}

/**
 * One configuration option: read from `--<name>` or, when that is not given, from `env`. This one
 * entry generates the parser, `imagegram --help` and the README's configuration table.
 */
export interface ConfigOption<T = unknown> {
  /** The environment variable. */
  env: string;
  /** The values it takes, e.g. "integer 1–3600". */
  values: string;
  /** The default, as documented (`code` in backticks). */
  shownDefault: string;
  /** One line for `--help` and the README (`code` in backticks). */
  doc: string;
  /** More for the README only (Markdown). */
  more?: string;
  /** Checks and converts a value that was given (never empty); throws ConfigError. */
  parse(value: string, context: OptionContext): T;
  /** The value when none is given. */
  fallback(context: OptionContext): T;
}

type OptionDocs = { doc: string; more?: string };

function integerOption(env: string, spec: OptionDocs & { min: number; max: number; fallback: number; about?: string }): ConfigOption<number> {
  return {
    env,
    values: `integer ${spec.min}–${spec.max}`,
    shownDefault: `\`${spec.fallback}\`${spec.about ? ` (${spec.about})` : ''}`,
    ...docs(spec),
    parse: (value) => integer(env, value, spec.min, spec.max),
    fallback: () => spec.fallback,
  };
}

function booleanOption(
  env: string,
  spec: OptionDocs & { fallback: boolean | ((context: OptionContext) => boolean); shownDefault?: string },
): ConfigOption<boolean> {
  const { fallback } = spec;
  return {
    env,
    values: 'on/off',
    shownDefault: spec.shownDefault ?? (fallback ? 'on' : 'off'),
    ...docs(spec),
    parse: (value) => boolean(env, value),
    fallback: typeof fallback === 'function' ? fallback : () => fallback,
  };
}

function durationOption(env: string, spec: OptionDocs & { fallback: string }): ConfigOption<number> {
  return {
    env,
    values: 'ISO-8601 duration, or 0s, 90s, 15m, 2h, 7d',
    shownDefault: `\`${spec.fallback}\``,
    ...docs(spec),
    parse: (value) => duration(env, value),
    fallback: () => duration(env, spec.fallback),
  };
}

function secretOption(env: string, spec: OptionDocs): ConfigOption<string | undefined> {
  return { env, values: 'at least 16 characters', shownDefault: 'generated', ...docs(spec), parse: (value) => secret(env, value), fallback: () => undefined };
}

const docs = ({ doc, more }: OptionDocs): OptionDocs => (more === undefined ? { doc } : { doc, more });
const operations = (anchor: string, text = 'operations') => `See [${text}](docs/operations.md#${anchor}).`;

/**
 * Every option, in the order `--help` and the README list them. Flags are `--<key>`. Validation
 * messages name the environment variable.
 */
export const configOptions = {
  port: integerOption('PORT', { min: 0, max: 65_535, fallback: 3000, doc: 'TCP port to listen on (0: any free port)' }),
  host: {
    env: 'HOST',
    values: 'address',
    shownDefault: '`0.0.0.0`',
    doc: 'interface to listen on (`0.0.0.0`: every IPv4 interface; `127.0.0.1`: this host only)',
    parse: (value: string) => value,
    fallback: () => '0.0.0.0',
  },
  'data-dir': {
    env: 'DATA_DIR',
    values: 'path',
    shownDefault: '`./data`',
    doc: "this process's own directory (SQLite file, blobs, staging, resumable uploads in progress — with an S3 blob store only their bytes in transit —, a generated admin token); one per serve or worker process",
    more: 'A serve or worker process locks it (`<DATA_DIR>/.lock`) for its lifetime: a second one on the same directory refuses to start. At start-up it removes what a killed predecessor left there.',
    parse: (value: string) => resolve(value),
    fallback: () => resolve('./data'),
  },
  'database-url': {
    env: 'DATABASE_URL',
    values: '`sqlite:<path>` or `postgres://…`',
    shownDefault: '`sqlite:<DATA_DIR>/imagegram.sqlite`',
    doc: 'the metadata database',
    more: 'The PostgreSQL database must exist (`createdb imagegram`).',
    parse: (value: string) => databaseUrl(value),
    fallback: ({ dataDir }: OptionContext) => `sqlite:${resolve(dataDir, 'imagegram.sqlite')}`,
  },
  'blob-store-url': {
    env: 'BLOB_STORE_URL',
    values: '`file:<dir>` or `s3://<bucket>[/<prefix>]?…`',
    shownDefault: '`file:<DATA_DIR>/blobs`',
    doc: 'where image bytes are kept: a directory, or an S3-compatible bucket',
    more:
      'S3: `s3://<bucket>[/<prefix>]?endpoint=<http(s) URL>&region=<region>&forcePathStyle=true|false` (region `us-east-1`; `endpoint` omitted means AWS; `forcePathStyle` defaults to true with an endpoint). ' +
      "Keys come from the AWS SDK's default chain: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (or a profile or role). See [docs/operations.md](docs/operations.md#s3-compatible-storage).",
    parse: (value: string) => blobStoreUrl(value),
    fallback: ({ dataDir }: OptionContext) => `file:${resolve(dataDir, 'blobs')}`,
  },
  'blob-store-fallback-url': {
    env: 'BLOB_STORE_FALLBACK_URL',
    values: 'as `BLOB_STORE_URL`',
    shownDefault: 'unset',
    doc: 'during a storage migration, the old store: read (and logged) only when a read misses `BLOB_STORE_URL`, never written',
    more: 'Set it when switching to a new store, and remove it once `imagegram migrate-storage` reports nothing left. See [docs/storage-migration.md](docs/storage-migration.md).',
    parse: (value: string): string | undefined => blobStoreUrl(value),
    fallback: (): string | undefined => undefined,
  },
  'admin-token': secretOption('ADMIN_TOKEN', {
    doc: "the admin endpoints' token; unset: generated on first start, kept in `<DATA_DIR>/admin-token` and printed once",
    more:
      'With several processes, set the same token everywhere: the database records a salted fingerprint of the first one, and serve or worker with another token refuses to start. `imagegram rotate-admin-token` changes it on purpose. ' +
      operations('several-processes-behind-a-load-balancer', 'operations'),
  }),
  'cursor-secret': secretOption('CURSOR_SECRET', {
    doc: "signs the feed's and lists' page cursors; unset: generated on first start and kept in the database, shared by every process",
    more: 'Set it only to choose the secret yourself, and then the same everywhere: a cursor signed by one process is refused (400 `INVALID_CURSOR`) by a process with another secret. Changing it invalidates cursors clients hold; rotating `ADMIN_TOKEN` does not.',
  }),
  'max-upload-bytes': integerOption('MAX_UPLOAD_BYTES', {
    min: 1,
    max: 10 * 1024 ** 3,
    fallback: 100 * 1024 * 1024,
    about: '100 MiB',
    doc: 'largest upload; larger ones get 413 while streaming',
  }),
  'max-image-pixels': integerOption('MAX_IMAGE_PIXELS', {
    min: 1,
    max: 2 ** 40,
    fallback: 100_000_000,
    doc: 'more pixels get 422, decided from the image header',
  }),
  'max-image-dimension': integerOption('MAX_IMAGE_DIMENSION', { min: 1, max: 1_000_000, fallback: 50_000, doc: 'longest side an image may have' }),
  // Sized so the server stays under 512 MB RSS: ~200 MB at rest, plus this, plus headroom (docs/operations.md).
  // At least 64 MiB: every decode reserves 48 MiB for libvips' own buffers.
  'decode-memory-bytes': integerOption('DECODE_MEMORY_BYTES', {
    min: 64 * 1024 * 1024,
    max: 2 ** 44,
    fallback: 256 * 1024 * 1024,
    about: '256 MiB',
    doc: 'memory all image decodes in flight may hold together; one needing more than all of it gets 422',
    more:
      'Each decode waits for its estimated share (FIFO); the refusal is `IMAGE_DIMENSIONS_TOO_LARGE`. Sized for a 512 MB RSS ceiling. ' +
      operations('decoding-memory'),
  }),
  'upload-expiry-seconds': integerOption('UPLOAD_EXPIRY_SECONDS', {
    min: 1,
    max: 30 * 24 * 3600,
    fallback: 24 * 3600,
    about: '24 h',
    doc: 'a resumable upload must be finished and used within this long of its creation',
  }),
  'upload-sweep-interval-seconds': integerOption('UPLOAD_SWEEP_INTERVAL_SECONDS', {
    min: 0,
    max: 24 * 3600,
    fallback: 300,
    about: '5 min',
    doc: 'how often expired resumable uploads are removed; `0` turns the sweep off',
  }),
  'upload-link-max-images': integerOption('UPLOAD_LINK_MAX_IMAGES', {
    min: 1,
    max: 10_000_000,
    fallback: 500,
    doc: 'images one upload link accepts (the default, and the most a link may be given)',
  }),
  'upload-link-max-bytes': integerOption('UPLOAD_LINK_MAX_BYTES', {
    min: 1,
    max: 2 ** 50,
    fallback: 1024 ** 3,
    about: '1 GiB',
    doc: 'bytes one upload link accepts (the default, and the most a link may be given)',
  }),
  'session-ttl-seconds': integerOption('SESSION_TTL_SECONDS', {
    min: 60,
    max: 10 * 365 * 24 * 3600,
    fallback: 30 * 24 * 3600,
    about: '30 days',
    doc: 'session lifetime',
  }),
  'rate-limit-per-minute': integerOption('RATE_LIMIT_PER_MINUTE', {
    min: 0,
    max: 1_000_000,
    fallback: 300,
    doc: 'writes per minute per session (per IP when anonymous), per endpoint; `0` disables',
  }),
  'login-rate-limit-per-minute': integerOption('LOGIN_RATE_LIMIT_PER_MINUTE', {
    min: 0,
    max: 1_000_000,
    fallback: 30,
    doc: 'log-in attempts per minute per IP; `0` disables',
  }),
  'max-concurrent-uploads-per-user': integerOption('MAX_CONCURRENT_UPLOADS_PER_USER', {
    min: 0,
    max: 10_000,
    fallback: 4,
    doc: 'uploads one signed-in user may stream at once; more get 429 `TOO_MANY_UPLOADS`; `0` disables',
    more: 'Counts REST, upload-link, tus-chunk and GraphQL multipart uploads, per process.',
  }),
  // Higher than per user: many phones share one address behind carrier-grade NAT.
  'max-concurrent-uploads-per-ip': integerOption('MAX_CONCURRENT_UPLOADS_PER_IP', {
    min: 0,
    max: 100_000,
    fallback: 16,
    doc: 'uploads one client address may stream at once; `0` disables',
    more: 'Higher than per user: phones share addresses behind carrier NAT.',
  }),
  // 60 s of silence: a phone in a tunnel or handing over between cells is usually back well
  // within it; a link silent for a minute is gone, and a tus client resumes from the offset.
  'body-idle-timeout-seconds': integerOption('BODY_IDLE_TIMEOUT_SECONDS', {
    min: 1,
    max: 3600,
    fallback: 60,
    doc: 'a request body that delivers no byte for this long is cut: silence, not slowness',
    more: 'Its staging file is removed; tus uploads resume. At most `REQUEST_TIMEOUT_SECONDS`.',
  }),
  // At most an hour: garbage collection takes a staging file untouched for an hour as abandoned.
  'request-timeout-seconds': integerOption('REQUEST_TIMEOUT_SECONDS', {
    min: 1,
    max: 3600,
    fallback: 3600,
    doc: 'longest a whole request body may take, however steadily it arrives',
  }),
  // Headers fit in the first packet or two: 20 s covers retransmissions on a lossy link.
  'headers-timeout-seconds': integerOption('HEADERS_TIMEOUT_SECONDS', {
    min: 1,
    max: 300,
    fallback: 20,
    doc: 'longest a client may take to send its request headers (slowloris); at most `REQUEST_TIMEOUT_SECONDS`',
  }),
  'keep-alive-timeout-seconds': integerOption('KEEP_ALIVE_TIMEOUT_SECONDS', {
    min: 1,
    max: 600,
    fallback: 10,
    doc: 'idle keep-alive connections are closed after this',
    more: "Behind a load balancer set it above the balancer's idle timeout (AWS ALB: 60 → 65).",
  }),
  'max-connections': integerOption('MAX_CONNECTIONS', {
    min: 0,
    max: 1_000_000,
    fallback: 0,
    about: 'no cap',
    doc: 'connections over this are closed at once; `0` is no cap',
    more: 'Set it below `ulimit -n` minus a few hundred, so uploads in flight keep descriptors for their files.',
  }),
  'trust-proxy': {
    env: 'TRUST_PROXY',
    values: 'off, on, a hop count, or addresses/CIDRs',
    shownDefault: 'off',
    doc: "whom to believe about the client's address in `X-Forwarded-For`, e.g. `10.0.0.0/8,127.0.0.1`",
    more: "Behind a reverse proxy, so per-IP limits see the client's address rather than the proxy's.",
    parse: (value: string) => trustProxy(value),
    fallback: (): boolean | number | string => false,
  },
  'cors-origins': {
    env: 'CORS_ORIGINS',
    values: '`*` or origins joined by commas',
    shownDefault: 'none',
    doc: 'web pages on other origins allowed to call the API from a browser (CORS), e.g. `https://app.example.com`',
    more: 'The web app served by this server at `/` is same-origin and needs nothing. Requests from an origin not listed get no CORS headers and their preflights a 403, so the browser refuses them; other clients are not affected. `*` allows any origin (safe for bearer tokens, which browsers never send on their own).',
    parse: (value: string) => corsOrigins(value),
    fallback: (): '*' | string[] => [],
  },
  'idempotency-ttl-seconds': integerOption('IDEMPOTENCY_TTL_SECONDS', {
    min: 60,
    max: 30 * 24 * 3600,
    fallback: 24 * 3600,
    about: '24 h',
    doc: 'how long an `Idempotency-Key` is remembered',
  }),
  'feed-cache-bytes': integerOption('FEED_CACHE_BYTES', {
    min: 0,
    max: 16 * 1024 ** 3,
    fallback: 64 * 1024 * 1024,
    about: '64 MiB',
    doc: 'memory for cached feed pages in the process (unused with `REDIS_URL`); `0` turns the cache off',
  }),
  'feed-version-max-age-ms': integerOption('FEED_VERSION_MAX_AGE_MS', {
    min: 0,
    max: 60_000,
    fallback: 1_000,
    about: '1 s',
    doc: 'how long a process reuses the feed version it read, so a feed cache hit needs no SQL; its own writes and (on PostgreSQL) the ones other processes announce end it at once, so this bounds only how late a write whose announcement was lost can show; `0` reads it for every request',
  }),
  'redis-url': {
    env: 'REDIS_URL',
    values: '`redis://…` or `rediss://…` (TLS)',
    shownDefault: 'unset',
    doc: 'Redis for the feed page cache and rate-limit counters, shared by every process; unset keeps both in the process',
    parse: (value: string): string | undefined => redisUrl(value),
    fallback: (): string | undefined => undefined,
  },
  'redis-key-prefix': {
    env: 'REDIS_KEY_PREFIX',
    values: '1-100 of A-Z a-z 0-9 : . _ -',
    shownDefault: '`imagegram:`',
    doc: 'prefix of every key written to Redis (`page:…`, `rate-limit:…` below it), so deployments can share a server',
    parse: (value: string) => redisKeyPrefix(value),
    fallback: () => 'imagegram:',
  },
  'log-level': {
    env: 'LOG_LEVEL',
    values: 'fatal, error, warn, info, debug, trace, silent',
    shownDefault: '`info`',
    doc: 'pino level; logs are JSON with a request id',
    parse: (value: string) => logLevel(value),
    fallback: () => 'info',
  },
  'graphql-max-depth': integerOption('GRAPHQL_MAX_DEPTH', { min: 1, max: 100, fallback: 3, doc: 'deepest nesting of objects a GraphQL operation may ask for' }),
  'graphql-max-cost': integerOption('GRAPHQL_MAX_COST', {
    min: 1,
    max: 10_000_000,
    fallback: 10_000,
    doc: 'most objects one GraphQL operation may resolve (lists counted at their `first`)',
  }),
  'graphql-cache-max-age': integerOption('GRAPHQL_CACHE_MAX_AGE', {
    min: 0,
    max: 31_536_000,
    fallback: 5,
    doc: '`max-age` (seconds) of anonymous `GET /graphql` responses; `0` disables public caching',
  }),
  // Production schemas are not advertised unless asked for; development gets GraphiQL.
  'graphql-introspection': booleanOption('GRAPHQL_INTROSPECTION', {
    fallback: ({ env }) => env.NODE_ENV !== 'production',
    shownDefault: 'on; off when `NODE_ENV=production`',
    doc: 'schema introspection and GraphiQL at `/graphiql`',
  }),
  'debug-query-count': booleanOption('IMAGEGRAM_DEBUG_QUERY_COUNT', {
    fallback: false,
    doc: 'debug aid: every response carries `x-query-count`, the SQL statements it ran',
  }),
  'run-worker': booleanOption('RUN_WORKER', {
    fallback: true,
    doc: '`serve` runs a job worker in the web process; `off` leaves jobs to `imagegram worker` processes',
  }),
  'worker-concurrency': integerOption('WORKER_CONCURRENCY', { min: 1, max: 64, fallback: 2, doc: 'jobs one worker runs at once' }),
  'job-lease-seconds': integerOption('JOB_LEASE_SECONDS', {
    min: 3,
    max: 24 * 3600,
    fallback: 60,
    doc: "a job's lease, extended while it runs; a dead worker's jobs are taken over after it",
  }),
  'job-poll-ms': integerOption('JOB_POLL_MS', {
    min: 10,
    max: 3_600_000,
    fallback: 1000,
    doc: 'how often an idle worker looks for due jobs, in ms',
    more: 'Jobs enqueued in the same process wake it at once.',
  }),
  'job-retry-base-ms': integerOption('JOB_RETRY_BASE_MS', {
    min: 0,
    max: 3_600_000,
    fallback: 5000,
    doc: 'first retry delay of a failed job in ms, doubling per attempt up to 1 h; parked after 5 attempts',
  }),
  // At most 20 s: the whole shutdown must fit in the 30 s deadline after SIGTERM.
  'job-drain-seconds': integerOption('JOB_DRAIN_SECONDS', {
    min: 0,
    max: 20,
    fallback: 10,
    doc: 'on SIGTERM, how long the worker waits for running jobs before it gives their leases back',
  }),
  'gc-interval-seconds': integerOption('GC_INTERVAL_SECONDS', {
    min: 0,
    max: 30 * 24 * 3600,
    fallback: 3600,
    about: '1 h',
    doc: 'how often the periodic garbage collection runs; `0` turns it off',
  }),
  'gc-grace': durationOption('GC_GRACE', {
    fallback: 'P1D',
    doc: 'how long garbage must have been garbage before it is removed (periodic gc, and `gc` without `--grace`)',
  }),
  'read-repair-after': durationOption('READ_REPAIR_AFTER', { fallback: 'PT1H', doc: 'an incomplete upload without bytes is deleted when read once this old' }),
} satisfies Record<string, ConfigOption<unknown>>;

export type OptionName = keyof typeof configOptions;
type OptionValues = { [K in OptionName]: ReturnType<(typeof configOptions)[K]['fallback']> };

/** Reads flags (which win) and environment variables into a validated Config. Throws ConfigError. */
export function loadConfig(argv: string[] = [], env: NodeJS.ProcessEnv = process.env): Config {
  let flags: Partial<Record<OptionName, string>>;
  try {
    const parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.keys(configOptions).map((name) => [name, { type: 'string' }])),
      allowPositionals: true,
      strict: true,
    });
    flags = parsed.values as Partial<Record<OptionName, string>>;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const context: OptionContext = { dataDir: '', env };
  const read = <K extends OptionName>(name: K): OptionValues[K] => {
    const option: ConfigOption<unknown> = configOptions[name];
    const value = flags[name] ?? env[option.env];
    return (value === undefined || value === '' ? option.fallback(context) : option.parse(value, context)) as OptionValues[K];
  };
  context.dataDir = read('data-dir');
  const v = Object.fromEntries(Object.keys(configOptions).map((name) => [name, read(name as OptionName)])) as OptionValues;

  if (v['body-idle-timeout-seconds'] > v['request-timeout-seconds']) {
    throw new ConfigError(
      `BODY_IDLE_TIMEOUT_SECONDS (${v['body-idle-timeout-seconds']}) must not exceed REQUEST_TIMEOUT_SECONDS (${v['request-timeout-seconds']})`,
    );
  }
  // Node refuses a headers timeout longer than the request timeout.
  if (v['headers-timeout-seconds'] > v['request-timeout-seconds']) {
    throw new ConfigError(
      `HEADERS_TIMEOUT_SECONDS (${v['headers-timeout-seconds']}) must not exceed REQUEST_TIMEOUT_SECONDS (${v['request-timeout-seconds']})`,
    );
  }
  if (v['blob-store-fallback-url'] !== undefined && v['blob-store-fallback-url'] === v['blob-store-url']) {
    throw new ConfigError('BLOB_STORE_FALLBACK_URL must name another store than BLOB_STORE_URL');
  }
  return {
    port: v.port,
    host: v.host,
    dataDir: v['data-dir'],
    databaseUrl: v['database-url'],
    blobStoreUrl: v['blob-store-url'],
    blobStoreFallbackUrl: v['blob-store-fallback-url'],
    adminToken: v['admin-token'],
    cursorSecret: v['cursor-secret'],
    maxUploadBytes: v['max-upload-bytes'],
    maxImagePixels: v['max-image-pixels'],
    maxImageDimension: v['max-image-dimension'],
    decodeMemoryBytes: v['decode-memory-bytes'],
    sessionTtlSeconds: v['session-ttl-seconds'],
    logLevel: v['log-level'],
    rateLimitPerMinute: v['rate-limit-per-minute'],
    loginRateLimitPerMinute: v['login-rate-limit-per-minute'],
    idempotencyTtlSeconds: v['idempotency-ttl-seconds'],
    feedCacheBytes: v['feed-cache-bytes'],
    feedVersionMaxAgeMs: v['feed-version-max-age-ms'],
    redisUrl: v['redis-url'],
    redisKeyPrefix: v['redis-key-prefix'],
    uploads: {
      expirySeconds: v['upload-expiry-seconds'],
      sweepIntervalSeconds: v['upload-sweep-interval-seconds'],
      linkMaxBytes: v['upload-link-max-bytes'],
      linkMaxImages: v['upload-link-max-images'],
    },
    clients: {
      bodyIdleTimeoutSeconds: v['body-idle-timeout-seconds'],
      requestTimeoutSeconds: v['request-timeout-seconds'],
      headersTimeoutSeconds: v['headers-timeout-seconds'],
      keepAliveTimeoutSeconds: v['keep-alive-timeout-seconds'],
      maxConnections: v['max-connections'],
      maxConcurrentUploadsPerUser: v['max-concurrent-uploads-per-user'],
      maxConcurrentUploadsPerIp: v['max-concurrent-uploads-per-ip'],
      trustProxy: v['trust-proxy'],
      corsOrigins: v['cors-origins'],
    },
    graphql: {
      maxDepth: v['graphql-max-depth'],
      maxCost: v['graphql-max-cost'],
      cacheMaxAgeSeconds: v['graphql-cache-max-age'],
      introspection: v['graphql-introspection'],
    },
    debugQueryCount: v['debug-query-count'],
    jobs: {
      runWorker: v['run-worker'],
      concurrency: v['worker-concurrency'],
      leaseSeconds: v['job-lease-seconds'],
      pollMs: v['job-poll-ms'],
      retryBaseMs: v['job-retry-base-ms'],
      drainSeconds: v['job-drain-seconds'],
    },
    gc: {
      intervalSeconds: v['gc-interval-seconds'],
      graceMs: v['gc-grace'],
      readRepairAfterMs: v['read-repair-after'],
    },
  };
}
