import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseFixedDuration } from './core/durations.js';

/** Everything the process can be configured with. Defaults are the embedded mode (SPEC §7). */
export interface Config {
  /** TCP port to listen on (`PORT`, `--port`). */
  port: number;
  /** Interface to bind (`HOST`, `--host`). */
  host: string;
  /** Directory for the SQLite file, blobs, staging and the generated admin token (`DATA_DIR`, `--data-dir`). */
  dataDir: string;
  /** Metadata database: `sqlite:<path>` or `postgres://…` (`DATABASE_URL`, `--database-url`); default the SQLite file in the data dir. */
  databaseUrl: string;
  /** Blob store: `file:<dir>` or `s3://<bucket>[/<prefix>]?endpoint=…&region=…&forcePathStyle=…`, normalised (`BLOB_STORE_URL`, `--blob-store-url`); default `<dataDir>/blobs`. */
  blobStoreUrl: string;
  /** Admin token; when unset one is generated on first start and kept in the data dir (`ADMIN_TOKEN`). */
  adminToken: string | undefined;
  /** Largest upload in bytes (`MAX_UPLOAD_BYTES`, default 100 MiB). */
  maxUploadBytes: number;
  /** Most pixels an image may have (`MAX_IMAGE_PIXELS`, default 100 megapixels). */
  maxImagePixels: number;
  /** Longest side an image may have (`MAX_IMAGE_DIMENSION`, default 50,000). */
  maxImageDimension: number;
  /**
   * Memory all image decodes in flight may hold together (`DECODE_MEMORY_BYTES`, default 256 MiB):
   * decodes wait for their share; one needing more than all of it is refused (422).
   */
  decodeMemoryBytes: number;
  /** Session lifetime in seconds (`SESSION_TTL_SECONDS`, default 30 days). */
  sessionTtlSeconds: number;
  /** pino level (`LOG_LEVEL`, default info). */
  logLevel: string;
  /** Writes per minute per session token (or per IP when anonymous); 0 disables (`RATE_LIMIT_PER_MINUTE`, default 300). */
  rateLimitPerMinute: number;
  /** Log-in attempts per minute per IP; 0 disables (`LOGIN_RATE_LIMIT_PER_MINUTE`, default 30). */
  loginRateLimitPerMinute: number;
  /** How long an Idempotency-Key is remembered, in seconds (`IDEMPOTENCY_TTL_SECONDS`, default 24 h). */
  idempotencyTtlSeconds: number;
  /** Memory for cached feed pages, in bytes (`FEED_CACHE_BYTES`, default 64 MiB). */
  feedCacheBytes: number;
  /** Redis for the feed page cache and rate-limit counters, shared by every process: `redis://…` or `rediss://…` (`REDIS_URL`, `--redis-url`); unset keeps both in the process. */
  redisUrl: string | undefined;
  /** Prefix of every key imagegram writes to Redis (`REDIS_KEY_PREFIX`, `--redis-key-prefix`, default `imagegram:`). */
  redisKeyPrefix: string;
  /** Resumable uploads and upload links (`UPLOAD_*`); see README "Resumable uploads". */
  uploads: UploadsConfig;
  /** Guards against slow, stuck and greedy clients (timeouts, connection and upload caps); see docs/operations.md "Slow and greedy clients". */
  clients: ClientLimitsConfig;
  /** GraphQL limits and caching (`GRAPHQL_*`); see README "GraphQL". */
  graphql: GraphqlConfig;
  /** Background jobs (`RUN_WORKER`, `WORKER_CONCURRENCY`, `JOB_*`); see README "Jobs". */
  jobs: JobsConfig;
  /** Garbage collection and read repair (`GC_*`, `READ_REPAIR_AFTER`); see README "Garbage collection". */
  gc: GcConfig;
  /** Debug aid: add `x-query-count` (SQL statements run) to every response (`IMAGEGRAM_DEBUG_QUERY_COUNT=1`). */
  debugQueryCount: boolean;
}

export interface GraphqlConfig {
  /** Deepest nesting of object fields an operation may have (`GRAPHQL_MAX_DEPTH`, default 3). */
  maxDepth: number;
  /** Most objects an operation may ask for, lists counted at their `first` (`GRAPHQL_MAX_COST`, default 10,000). */
  maxCost: number;
  /** `max-age` of anonymous GET responses, in seconds (`GRAPHQL_CACHE_MAX_AGE`, default 5). */
  cacheMaxAgeSeconds: number;
  /** Schema introspection and GraphiQL (`GRAPHQL_INTROSPECTION`; default on, off when NODE_ENV=production). */
  introspection: boolean;
}

export interface JobsConfig {
  /** Whether `serve` runs a job worker in the web process (`RUN_WORKER`, default on); `imagegram worker` runs one alone. */
  runWorker: boolean;
  /** Jobs a worker runs at once (`WORKER_CONCURRENCY`, default 2). */
  concurrency: number;
  /** How long a lease lasts without a heartbeat, in seconds (`JOB_LEASE_SECONDS`, default 60). */
  leaseSeconds: number;
  /** How often an idle worker looks for due jobs, in ms (`JOB_POLL_MS`, default 1000). */
  pollMs: number;
  /** Wait before a failed job's first retry, in ms; doubles per attempt up to an hour (`JOB_RETRY_BASE_MS`, default 5000). */
  retryBaseMs: number;
  /** How long a stopping worker waits for running jobs before it gives their leases back, in seconds (`JOB_DRAIN_SECONDS`, default 10). */
  drainSeconds: number;
}

export interface GcConfig {
  /** How often the periodic garbage collection runs, in seconds; 0 turns it off (`GC_INTERVAL_SECONDS`, default 3600). */
  intervalSeconds: number;
  /** How long garbage must have been garbage before it is removed (`GC_GRACE`, an ISO-8601 duration, default P1D). */
  graceMs: number;
  /** An incomplete upload without bytes is given up on once this old, when read (`READ_REPAIR_AFTER`, default PT1H). */
  readRepairAfterMs: number;
}

export interface ClientLimitsConfig {
  /** A request body that delivers no byte for this long is cut, in seconds (`BODY_IDLE_TIMEOUT_SECONDS`, default 60). */
  bodyIdleTimeoutSeconds: number;
  /** Longest a whole request body may take, however steadily it arrives, in seconds (`REQUEST_TIMEOUT_SECONDS`, default 3600). */
  requestTimeoutSeconds: number;
  /** Longest a client may take to send its request headers, in seconds (`HEADERS_TIMEOUT_SECONDS`, default 20). */
  headersTimeoutSeconds: number;
  /** How long an idle keep-alive connection is kept open, in seconds (`KEEP_ALIVE_TIMEOUT_SECONDS`, default 10). */
  keepAliveTimeoutSeconds: number;
  /** Most open connections; more are closed at once; 0 is no cap (`MAX_CONNECTIONS`, default 0). */
  maxConnections: number;
  /** Uploads one signed-in user may stream at once; 0 is no cap (`MAX_CONCURRENT_UPLOADS_PER_USER`, default 4). */
  maxConcurrentUploadsPerUser: number;
  /** Uploads one IP address may stream at once; 0 is no cap (`MAX_CONCURRENT_UPLOADS_PER_IP`, default 16). */
  maxConcurrentUploadsPerIp: number;
  /** Whom to believe about the client's address in `X-Forwarded-For` (`TRUST_PROXY`: off, on, a hop count, or addresses/CIDRs; default off). */
  trustProxy: boolean | number | string;
}

export interface UploadsConfig {
  /** How long a resumable upload may take from creation to being used, in seconds (`UPLOAD_EXPIRY_SECONDS`, default 24 h). */
  expirySeconds: number;
  /** How often expired uploads are swept, in seconds; 0 turns the sweep off (`UPLOAD_SWEEP_INTERVAL_SECONDS`, default 5 min). */
  sweepIntervalSeconds: number;
  /** Default (and highest) cap on the bytes one upload link accepts (`UPLOAD_LINK_MAX_BYTES`, default 1 GiB). */
  linkMaxBytes: number;
  /** Default (and highest) cap on the images one upload link accepts (`UPLOAD_LINK_MAX_IMAGES`, default 500). */
  linkMaxImages: number;
}

/** Thrown for invalid configuration; main prints the message and exits 1. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const options = {
  port: { type: 'string', env: 'PORT' },
  host: { type: 'string', env: 'HOST' },
  'data-dir': { type: 'string', env: 'DATA_DIR' },
  'database-url': { type: 'string', env: 'DATABASE_URL' },
  'blob-store-url': { type: 'string', env: 'BLOB_STORE_URL' },
  'admin-token': { type: 'string', env: 'ADMIN_TOKEN' },
  'max-upload-bytes': { type: 'string', env: 'MAX_UPLOAD_BYTES' },
  'max-image-pixels': { type: 'string', env: 'MAX_IMAGE_PIXELS' },
  'max-image-dimension': { type: 'string', env: 'MAX_IMAGE_DIMENSION' },
  'decode-memory-bytes': { type: 'string', env: 'DECODE_MEMORY_BYTES' },
  'session-ttl-seconds': { type: 'string', env: 'SESSION_TTL_SECONDS' },
  'log-level': { type: 'string', env: 'LOG_LEVEL' },
  'rate-limit-per-minute': { type: 'string', env: 'RATE_LIMIT_PER_MINUTE' },
  'login-rate-limit-per-minute': { type: 'string', env: 'LOGIN_RATE_LIMIT_PER_MINUTE' },
  'idempotency-ttl-seconds': { type: 'string', env: 'IDEMPOTENCY_TTL_SECONDS' },
  'feed-cache-bytes': { type: 'string', env: 'FEED_CACHE_BYTES' },
  'redis-url': { type: 'string', env: 'REDIS_URL' },
  'redis-key-prefix': { type: 'string', env: 'REDIS_KEY_PREFIX' },
  'upload-expiry-seconds': { type: 'string', env: 'UPLOAD_EXPIRY_SECONDS' },
  'body-idle-timeout-seconds': { type: 'string', env: 'BODY_IDLE_TIMEOUT_SECONDS' },
  'request-timeout-seconds': { type: 'string', env: 'REQUEST_TIMEOUT_SECONDS' },
  'headers-timeout-seconds': { type: 'string', env: 'HEADERS_TIMEOUT_SECONDS' },
  'keep-alive-timeout-seconds': { type: 'string', env: 'KEEP_ALIVE_TIMEOUT_SECONDS' },
  'max-connections': { type: 'string', env: 'MAX_CONNECTIONS' },
  'max-concurrent-uploads-per-user': { type: 'string', env: 'MAX_CONCURRENT_UPLOADS_PER_USER' },
  'max-concurrent-uploads-per-ip': { type: 'string', env: 'MAX_CONCURRENT_UPLOADS_PER_IP' },
  'trust-proxy': { type: 'string', env: 'TRUST_PROXY' },
  'upload-sweep-interval-seconds': { type: 'string', env: 'UPLOAD_SWEEP_INTERVAL_SECONDS' },
  'upload-link-max-bytes': { type: 'string', env: 'UPLOAD_LINK_MAX_BYTES' },
  'upload-link-max-images': { type: 'string', env: 'UPLOAD_LINK_MAX_IMAGES' },
  'graphql-max-depth': { type: 'string', env: 'GRAPHQL_MAX_DEPTH' },
  'graphql-max-cost': { type: 'string', env: 'GRAPHQL_MAX_COST' },
  'graphql-cache-max-age': { type: 'string', env: 'GRAPHQL_CACHE_MAX_AGE' },
  'graphql-introspection': { type: 'string', env: 'GRAPHQL_INTROSPECTION' },
  'debug-query-count': { type: 'string', env: 'IMAGEGRAM_DEBUG_QUERY_COUNT' },
  'run-worker': { type: 'string', env: 'RUN_WORKER' },
  'worker-concurrency': { type: 'string', env: 'WORKER_CONCURRENCY' },
  'job-lease-seconds': { type: 'string', env: 'JOB_LEASE_SECONDS' },
  'job-poll-ms': { type: 'string', env: 'JOB_POLL_MS' },
  'job-retry-base-ms': { type: 'string', env: 'JOB_RETRY_BASE_MS' },
  'job-drain-seconds': { type: 'string', env: 'JOB_DRAIN_SECONDS' },
  'gc-interval-seconds': { type: 'string', env: 'GC_INTERVAL_SECONDS' },
  'gc-grace': { type: 'string', env: 'GC_GRACE' },
  'read-repair-after': { type: 'string', env: 'READ_REPAIR_AFTER' },
} as const;

type OptionName = keyof typeof options;

/** Reads flags (which win) and environment variables into a validated Config. Throws ConfigError. */
export function loadConfig(argv: string[] = [], env: NodeJS.ProcessEnv = process.env): Config {
  let flags: Partial<Record<OptionName, string>>;
  try {
    const parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(options).map(([name, o]) => [name, { type: o.type }])),
      allowPositionals: true,
      strict: true,
    });
    flags = parsed.values as Partial<Record<OptionName, string>>;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const raw = (name: OptionName): string | undefined => {
    const value = flags[name] ?? env[options[name].env];
    return value === undefined || value === '' ? undefined : value;
  };

  const dataDir = resolve(raw('data-dir') ?? './data');
  return {
    port: integer('PORT', raw('port'), 3000, 0, 65_535),
    host: raw('host') ?? '0.0.0.0',
    dataDir,
    databaseUrl: databaseUrl(raw('database-url'), dataDir),
    blobStoreUrl: blobStoreUrl(raw('blob-store-url'), dataDir),
    adminToken: adminToken(raw('admin-token')),
    maxUploadBytes: integer('MAX_UPLOAD_BYTES', raw('max-upload-bytes'), 100 * 1024 * 1024, 1, 10 * 1024 ** 3),
    maxImagePixels: integer('MAX_IMAGE_PIXELS', raw('max-image-pixels'), 100_000_000, 1, 2 ** 40),
    maxImageDimension: integer('MAX_IMAGE_DIMENSION', raw('max-image-dimension'), 50_000, 1, 1_000_000),
    // Sized so the server stays under 512 MB RSS: ~200 MB at rest, plus this, plus headroom (docs/operations.md).
    // At least 64 MiB: every decode reserves 48 MiB for libvips' own buffers.
    decodeMemoryBytes: integer('DECODE_MEMORY_BYTES', raw('decode-memory-bytes'), 256 * 1024 * 1024, 64 * 1024 * 1024, 2 ** 44),
    sessionTtlSeconds: integer('SESSION_TTL_SECONDS', raw('session-ttl-seconds'), 30 * 24 * 3600, 60, 10 * 365 * 24 * 3600),
    logLevel: logLevel(raw('log-level') ?? 'info'),
    rateLimitPerMinute: integer('RATE_LIMIT_PER_MINUTE', raw('rate-limit-per-minute'), 300, 0, 1_000_000),
    loginRateLimitPerMinute: integer('LOGIN_RATE_LIMIT_PER_MINUTE', raw('login-rate-limit-per-minute'), 30, 0, 1_000_000),
    idempotencyTtlSeconds: integer('IDEMPOTENCY_TTL_SECONDS', raw('idempotency-ttl-seconds'), 24 * 3600, 60, 30 * 24 * 3600),
    feedCacheBytes: integer('FEED_CACHE_BYTES', raw('feed-cache-bytes'), 64 * 1024 * 1024, 0, 16 * 1024 ** 3),
    redisUrl: redisUrl(raw('redis-url')),
    redisKeyPrefix: redisKeyPrefix(raw('redis-key-prefix') ?? 'imagegram:'),
    uploads: {
      expirySeconds: integer('UPLOAD_EXPIRY_SECONDS', raw('upload-expiry-seconds'), 24 * 3600, 1, 30 * 24 * 3600),
      sweepIntervalSeconds: integer('UPLOAD_SWEEP_INTERVAL_SECONDS', raw('upload-sweep-interval-seconds'), 300, 0, 24 * 3600),
      linkMaxBytes: integer('UPLOAD_LINK_MAX_BYTES', raw('upload-link-max-bytes'), 1024 ** 3, 1, 2 ** 50),
      linkMaxImages: integer('UPLOAD_LINK_MAX_IMAGES', raw('upload-link-max-images'), 500, 1, 10_000_000),
    },
    clients: clientLimits(raw),
    graphql: {
      maxDepth: integer('GRAPHQL_MAX_DEPTH', raw('graphql-max-depth'), 3, 1, 100),
      maxCost: integer('GRAPHQL_MAX_COST', raw('graphql-max-cost'), 10_000, 1, 10_000_000),
      cacheMaxAgeSeconds: integer('GRAPHQL_CACHE_MAX_AGE', raw('graphql-cache-max-age'), 5, 0, 31_536_000),
      // Production schemas are not advertised unless asked for; development gets GraphiQL.
      introspection: boolean('GRAPHQL_INTROSPECTION', raw('graphql-introspection'), env.NODE_ENV !== 'production'),
    },
    debugQueryCount: boolean('IMAGEGRAM_DEBUG_QUERY_COUNT', raw('debug-query-count'), false),
    jobs: {
      runWorker: boolean('RUN_WORKER', raw('run-worker'), true),
      concurrency: integer('WORKER_CONCURRENCY', raw('worker-concurrency'), 2, 1, 64),
      leaseSeconds: integer('JOB_LEASE_SECONDS', raw('job-lease-seconds'), 60, 3, 24 * 3600),
      pollMs: integer('JOB_POLL_MS', raw('job-poll-ms'), 1000, 10, 3_600_000),
      retryBaseMs: integer('JOB_RETRY_BASE_MS', raw('job-retry-base-ms'), 5000, 0, 3_600_000),
      // At most 20 s: the whole shutdown must fit in the 30 s deadline after SIGTERM.
      drainSeconds: integer('JOB_DRAIN_SECONDS', raw('job-drain-seconds'), 10, 0, 20),
    },
    gc: {
      intervalSeconds: integer('GC_INTERVAL_SECONDS', raw('gc-interval-seconds'), 3600, 0, 30 * 24 * 3600),
      graceMs: duration('GC_GRACE', raw('gc-grace'), 86_400_000),
      readRepairAfterMs: duration('READ_REPAIR_AFTER', raw('read-repair-after'), 3_600_000),
    },
  };
}

function clientLimits(raw: (name: OptionName) => string | undefined): ClientLimitsConfig {
  // At most an hour: garbage collection takes a staging file untouched for an hour as abandoned.
  const requestTimeoutSeconds = integer('REQUEST_TIMEOUT_SECONDS', raw('request-timeout-seconds'), 3600, 1, 3600);
  // 60 s of silence: a phone in a tunnel or handing over between cells is usually back well
  // within it; a link silent for a minute is gone, and a tus client resumes from the offset.
  const bodyIdleTimeoutSeconds = integer('BODY_IDLE_TIMEOUT_SECONDS', raw('body-idle-timeout-seconds'), 60, 1, 3600);
  if (bodyIdleTimeoutSeconds > requestTimeoutSeconds) {
    throw new ConfigError(`BODY_IDLE_TIMEOUT_SECONDS (${bodyIdleTimeoutSeconds}) must not exceed REQUEST_TIMEOUT_SECONDS (${requestTimeoutSeconds})`);
  }
  // Headers fit in the first packet or two: 20 s covers retransmissions on a lossy link.
  const headersTimeoutSeconds = integer('HEADERS_TIMEOUT_SECONDS', raw('headers-timeout-seconds'), 20, 1, 300);
  // Node refuses a headers timeout longer than the request timeout.
  if (headersTimeoutSeconds > requestTimeoutSeconds) {
    throw new ConfigError(`HEADERS_TIMEOUT_SECONDS (${headersTimeoutSeconds}) must not exceed REQUEST_TIMEOUT_SECONDS (${requestTimeoutSeconds})`);
  }
  return {
    bodyIdleTimeoutSeconds,
    requestTimeoutSeconds,
    headersTimeoutSeconds,
    keepAliveTimeoutSeconds: integer('KEEP_ALIVE_TIMEOUT_SECONDS', raw('keep-alive-timeout-seconds'), 10, 1, 600),
    maxConnections: integer('MAX_CONNECTIONS', raw('max-connections'), 0, 0, 1_000_000),
    maxConcurrentUploadsPerUser: integer('MAX_CONCURRENT_UPLOADS_PER_USER', raw('max-concurrent-uploads-per-user'), 4, 0, 10_000),
    // Higher than per user: many phones share one address behind carrier-grade NAT.
    maxConcurrentUploadsPerIp: integer('MAX_CONCURRENT_UPLOADS_PER_IP', raw('max-concurrent-uploads-per-ip'), 16, 0, 100_000),
    trustProxy: trustProxy(raw('trust-proxy')),
  };
}

/** Fastify's `trustProxy`: off, on (any proxy), the number of proxy hops, or the proxies' addresses. */
function trustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || ['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return false;
  if (['true', 'yes', 'on'].includes(value.toLowerCase())) return true;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry))) {
    throw new ConfigError(`TRUST_PROXY must be off, on, a hop count, or comma-separated IP addresses/CIDRs, got "${value}"`);
  }
  return entries.join(',');
}

function duration(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = parseFixedDuration(value);
  if (parsed === null) throw new ConfigError(`${name} must be an ISO-8601 duration such as PT1H or P1D (or 0s), got "${value}"`);
  return parsed;
}

function boolean(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(value.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false (1/0), got "${value}"`);
}

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

function databaseUrl(value: string | undefined, dataDir: string): string {
  if (value === undefined) return `sqlite:${resolve(dataDir, 'imagegram.sqlite')}`;
  if (/^postgres(ql)?:\/\//.test(value)) return value;
  if (value.startsWith('sqlite:')) return `sqlite:${resolve(value.slice('sqlite:'.length))}`;
  throw new ConfigError(`DATABASE_URL must start with postgres://, postgresql:// or sqlite:, got "${value}"`);
}

function blobStoreUrl(value: string | undefined, dataDir: string): string {
  if (value === undefined) return `file:${resolve(dataDir, 'blobs')}`;
  if (value.startsWith('file:')) {
    const path = value.slice('file:'.length).replace(/^\/\//, '');
    return `file:${isAbsolute(path) ? path : resolve(path)}`;
  }
  if (value.startsWith('s3://')) return s3BlobStoreUrl(value);
  throw new ConfigError(`BLOB_STORE_URL must start with file: or s3://, got "${value}"`);
}

/** Checks an `s3://` blob store URL and spells out its defaults, so app.ts reads it without guessing. */
function s3BlobStoreUrl(value: string): string {
  // Never echo keys someone put in the URL into a log.
  const shown = value.replace(/^s3:\/\/[^/?#]*@/, 's3://***@');
  const invalid = (why: string) => new ConfigError(`BLOB_STORE_URL ${why}; expected s3://<bucket>[/<prefix>]?endpoint=<http(s) URL>&region=<region>&forcePathStyle=true|false, got "${shown}"`);
  if (!URL.canParse(value)) throw invalid('is not a URL');
  const url = new URL(value);
  // Bucket naming rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(url.hostname)) throw invalid(`has no valid bucket name ("${url.hostname}": 3-63 of a-z 0-9 . -)`);
  if (url.username || url.password || url.port || url.hash) throw invalid('must not carry credentials, a port or a fragment (keys go in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)');
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => !/^[A-Za-z0-9._-]+$/.test(segment) || segment === '.' || segment === '..')) throw invalid('has a key prefix with characters other than A-Z a-z 0-9 . _ - /');
  const unknown = [...url.searchParams.keys()].filter((name) => !['endpoint', 'region', 'forcePathStyle'].includes(name));
  if (unknown.length > 0) throw invalid(`has unknown parameters (${unknown.join(', ')})`);
  const endpoint = url.searchParams.get('endpoint') || undefined;
  const endpointUrl = endpoint !== undefined && URL.canParse(endpoint) ? new URL(endpoint) : undefined;
  if (endpoint !== undefined && !(endpointUrl && ['http:', 'https:'].includes(endpointUrl.protocol) && !endpointUrl.search && !endpointUrl.hash)) {
    throw invalid(`has an endpoint that is not an http(s) URL ("${endpoint}")`);
  }
  const region = url.searchParams.get('region') || 'us-east-1';
  if (!/^[a-z0-9-]+$/.test(region)) throw invalid(`has an invalid region ("${region}")`);
  const pathStyle = url.searchParams.get('forcePathStyle') || (endpoint !== undefined ? 'true' : 'false');
  if (pathStyle !== 'true' && pathStyle !== 'false') throw invalid(`has forcePathStyle "${pathStyle}" (true or false)`);
  const normalised = new URLSearchParams({ ...(endpoint !== undefined ? { endpoint } : {}), region, forcePathStyle: pathStyle });
  return `s3://${url.hostname}/${segments.map((segment) => `${segment}/`).join('')}?${normalised}`;
}

function adminToken(value: string | undefined): string | undefined {
  if (value !== undefined && value.length < 16) throw new ConfigError('ADMIN_TOKEN must be at least 16 characters');
  return value;
}

function logLevel(value: string): string {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(value)) throw new ConfigError(`LOG_LEVEL must be one of ${levels.join(', ')}, got "${value}"`);
  return value;
}

function redisUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Never echo a password someone put in the URL into a log.
  const shown = value.replace(/^([a-z]+:\/\/)[^/?#@]*@/, '$1***@');
  if (!/^rediss?:\/\//.test(value) || !URL.canParse(value)) throw new ConfigError(`REDIS_URL must be a redis:// or rediss:// URL, got "${shown}"`);
  return value;
}

function redisKeyPrefix(value: string): string {
  // Plain characters only, so `redis-cli --scan --pattern '<prefix>*'` finds exactly our keys.
  if (!/^[A-Za-z0-9:._-]{1,100}$/.test(value)) throw new ConfigError(`REDIS_KEY_PREFIX must be 1-100 of A-Z a-z 0-9 : . _ -, got "${value}"`);
  return value;
}
