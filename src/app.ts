import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { DataStore, Locker } from '@tus/server';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { AdminAuth } from './core/admin/admin-auth.js';
import { CollectionService } from './core/collections/collection-service.js';
import { DecodeBudget } from './core/images/decode-budget.js';
import { ImageIngest } from './core/images/image-ingest.js';
import { ImageService } from './core/images/image-service.js';
import { UploadImage } from './core/images/upload-image.js';
import { IdempotentWrites } from './core/idempotency/idempotent-writes.js';
import { AddComment } from './core/posts/add-comment.js';
import { CommentService } from './core/posts/comment-service.js';
import { CreatePost } from './core/posts/create-post.js';
import { FeedService } from './core/posts/feed-service.js';
import { OpaqueCursor } from './core/posts/opaque-cursor.js';
import { PostService } from './core/posts/post-service.js';
import { AccountService } from './core/users/account-service.js';
import { UploadLinkService } from './core/uploads/upload-link-service.js';
import { UploadService } from './core/uploads/upload-service.js';
import { removeUnrecordedUploadFiles, sweepExpiredUploads } from './core/uploads/upload-sweep.js';
import { BlobVerification } from './core/blobs/blob-verification.js';
import { EventLogReader } from './core/events/event-log-reader.js';
import { GarbageCollector } from './core/gc/garbage-collector.js';
import { DerivativeRendering } from './core/images/derivative-rendering.js';
import { IncompleteUploadRepair } from './core/images/incomplete-upload-repair.js';
import { MetadataExtraction } from './core/images/metadata-extraction.js';
import { BulkImport } from './core/imports/bulk-import.js';
import { StorageMigration } from './core/blobs/storage-migration.js';
import { JobAdmin } from './core/jobs/job-admin.js';
import type { JobHandlers } from './core/jobs/job-handlers.js';
import { JobWakeup } from './core/jobs/job-wakeup.js';
import { expireRecords } from './core/jobs/record-expiry.js';
import { Reprocessing } from './core/jobs/reprocessing.js';
import { StatsProjection } from './core/stats/stats-projection.js';
import { StatsService } from './core/stats/stats-service.js';
import type { BlobStore } from './ports/blob-store.js';
import type { ImageProcessor } from './ports/image-processor.js';
import type { MetadataStore } from './ports/metadata-store.js';
import type { PageCache } from './ports/page-cache.js';
import type { StagingArea } from './ports/staging-area.js';
import type { UploadFiles } from './ports/upload-files.js';
import { FsBlobStore } from './adapters/blob/fs-blob-store.js';
import type { S3BlobStore } from './adapters/blob/s3-blob-store.js';
import { FsStagingArea } from './adapters/staging/fs-staging-area.js';
import { MemoryPageCache } from './adapters/cache/memory-page-cache.js';
import { SharpImageProcessor } from './adapters/image/sharp-image-processor.js';
import { TusFileUploadFiles } from './adapters/uploads/tus-file-upload-files.js';
import { openUploadLocker } from './adapters/uploads/upload-locker.js';
import { checkAdminTokenFingerprint, loadOrCreateAdminToken, loadOrCreateCursorSecret } from './stored-secrets.js';
import { lockDataDir } from './adapters/process/data-dir-lock.js';
import { StartupError } from './startup-error.js';
import { QueryCounter } from './query-counter.js';
import { Metrics } from './transports/metrics.js';
import { type JobSchedule, JobWorker } from './transports/worker/job-worker.js';

/** The use-case services, shared by every transport so REST, GraphQL and the CLI cannot disagree. */
export interface Services {
  accounts: AccountService;
  images: ImageService;
  ingest: ImageIngest;
  /** The commands every transport calls for a write that makes an image or takes an idempotency key. */
  uploadImage: UploadImage;
  createPost: CreatePost;
  addComment: AddComment;
  admin: AdminAuth;
  posts: PostService;
  comments: CommentService;
  feed: FeedService;
  collections: CollectionService;
  uploads: UploadService;
  uploadLinks: UploadLinkService;
  events: EventLogReader;
  jobs: JobAdmin;
  stats: StatsService;
  gc: GarbageCollector;
  verification: BlobVerification;
  reprocessing: Reprocessing;
  bulkImport: BulkImport;
}

/** Everything a transport needs: config, adapters and services, and how to shut them down. */
export interface App {
  config: Config;
  logger: Logger;
  store: MetadataStore;
  blobs: BlobStore;
  staging: StagingArea;
  processor: ImageProcessor;
  pageCache: PageCache;
  /** The process's one Redis connection when `REDIS_URL` is set (page cache, rate-limit counters), else null. */
  redis: Redis | null;
  services: Services;
  /** The bytes of resumable uploads. */
  uploadFiles: UploadFiles;
  /** What @tus/server serves `/uploads` from: the same store and locks as `uploadFiles`. */
  tus: { datastore: DataStore; locker: Locker };
  /** Counts each request's SQL statements when `debugQueryCount` is on (a debug aid), else null. */
  queryCounter: QueryCounter | null;
  /** The process's Prometheus metrics (HTTP and jobs). */
  metrics: Metrics;
  /** Starts this process's job worker (idempotent); `close()` stops it, giving back its leases. */
  startWorker(): JobWorker;
  close(): Promise<void>;
}

export interface CreateAppOptions {
  /**
   * A long-running process (`serve`, `worker`) rather than a one-shot command: it takes its data
   * dir for itself (refusing to start beside another one there), refuses an admin token other than
   * the deployment's, and clears what a killed predecessor left in its data dir.
   */
  longRunning?: 'serve' | 'worker';
}

/** Composition root: picks one adapter per port from the config and wires the services. */
export async function createApp(config: Config, logger: Logger, options: CreateAppOptions = {}): Promise<App> {
  // First: a second process on this data dir must not touch anything in it, staging above all.
  const dataDirLock = options.longRunning ? lockDataDir(config.dataDir, options.longRunning) : null;
  try {
    return await composeApp(config, logger, options, () => dataDirLock?.release());
  } catch (error) {
    dataDirLock?.release();
    throw error;
  }
}

async function composeApp(config: Config, logger: Logger, options: CreateAppOptions, releaseDataDir: () => void): Promise<App> {
  const queryCounter = config.debugQueryCount ? new QueryCounter() : null;
  const store = await openMetadataStore(config.databaseUrl, queryCounter?.onQuery);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw databaseStartupError(error, config.databaseUrl) ?? error;
  }
  try {
    return await composeServices(config, logger, options, store, queryCounter, releaseDataDir);
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function composeServices(
  config: Config,
  logger: Logger,
  options: CreateAppOptions,
  store: MetadataStore,
  queryCounter: QueryCounter | null,
  releaseDataDir: () => void,
): Promise<App> {
  const startup = options.longRunning ? { log: logger, deploymentId: () => store.settings.setIfAbsent('deployment-id', randomUUID()) } : null;
  const blobs = await openConfiguredBlobStore(config, logger, startup);
  // Staging sits in the data dir beside the default blob directory, so promotion is a hard link.
  const staging = new FsStagingArea(join(config.dataDir, 'staging'), { forCommand: !options.longRunning });
  const limits = { maxPixels: config.maxImagePixels, maxDimension: config.maxImageDimension };
  const processor = new SharpImageProcessor(limits);
  // One budget for every decode in this process (uploads, imports, reprocessing jobs). Two decodes
  // at most: sharp runs about one thread per image, so more only queue inside libvips (STYLE.md).
  const decodeBudget = new DecodeBudget({ bytes: config.decodeMemoryBytes, concurrency: Math.max(2, availableParallelism()) });
  const adminToken = await loadOrCreateAdminToken(config, logger);
  if (options.longRunning) await checkAdminTokenFingerprint(config, adminToken, store);
  const { redis, pageCache, closeCache } = await openPageCache(config, logger);

  const accounts = new AccountService(store, { sessionTtlMs: config.sessionTtlSeconds * 1000 });
  // A minute of lease covers any honest request; a crashed one frees its key after it.
  const idempotent = new IdempotentWrites(store, { ttlMs: config.idempotencyTtlSeconds * 1000, leaseMs: 60_000 });
  // A secret of its own, shared by every process of a deployment: rotating the admin token keeps cursors valid.
  const cursors = new OpaqueCursor(await loadOrCreateCursorSecret(config, store, logger));
  const wakeup = new JobWakeup();
  const repair = new IncompleteUploadRepair({ store, blobs }, { maxAgeMs: config.gc.readRepairAfterMs });
  const images = new ImageService(store, blobs, repair, cursors);
  const metrics = new Metrics(store);
  const ingest = new ImageIngest(
    { store, blobs, staging, processor, wakeup, onImageIngested: (event) => metrics.observeIngest(event) },
    { ...limits, maxBytes: config.maxUploadBytes, decodeBudget },
  );
  const uploadExpiryMs = config.uploads.expirySeconds * 1000;
  // Shared by every process on the same database (or Redis), so any of them may serve any upload
  // whose bytes they share (the S3 store); in memory for the embedded single process.
  const uploadLocker = await openUploadLocker({ databaseUrl: config.databaseUrl, redis, redisKeyPrefix: config.redisKeyPrefix, log: logger });
  const uploadFiles = await openUploadFiles(config, uploadExpiryMs, uploadLocker);
  // Upload bytes in a bucket are shared: another process may be creating one this very moment, so
  // only the sweep (by age) removes those; on disk they are this process's own.
  if (options.longRunning) await clearLocalLeftovers({ store, staging, uploadFiles: config.blobStoreUrl.startsWith('file:') ? uploadFiles : null }, logger);
  const collections = new CollectionService(store, images, cursors);
  const statsProjection = new StatsProjection(store);
  const uploads = new UploadService({ store, files: uploadFiles, ingest }, { expiryMs: uploadExpiryMs, maxBytes: config.maxUploadBytes });
  const uploadImage = new UploadImage({ ingest, uploads });
  const services: Services = {
    accounts,
    images,
    ingest,
    uploadImage,
    createPost: new CreatePost({ store, idempotent, uploadImage }),
    addComment: new AddComment({ store, idempotent }),
    admin: new AdminAuth(adminToken),
    posts: new PostService(store, cursors),
    comments: new CommentService(store, cursors),
    feed: new FeedService(store, cursors, { versionMaxAgeMs: config.feedVersionMaxAgeMs }),
    collections,
    uploads,
    uploadLinks: new UploadLinkService({ store, ingest }, { maxBytes: config.uploads.linkMaxBytes, maxImages: config.uploads.linkMaxImages }),
    events: new EventLogReader(store),
    jobs: new JobAdmin({ store, wakeup }),
    stats: new StatsService({ store, projection: statsProjection }),
    // The HTTP request timeout bounds how long an upload can hold a staging file.
    gc: new GarbageCollector({ store, blobs, staging, uploadFiles, repair }, { stagingMinAgeMs: 3_600_000, uploadOrphanAgeMs: uploadExpiryMs }),
    verification: new BlobVerification({ store, blobs }),
    reprocessing: new Reprocessing({ store, wakeup }),
    bulkImport: new BulkImport({ store, ingest, collections }, { concurrency: availableParallelism(), maxBytes: config.maxUploadBytes }),
  };
  const handlers = jobHandlers({ config, logger, store, blobs, processor, decodeBudget, uploadFiles, services, statsProjection, uploadExpiryMs });
  let worker: JobWorker | null = null;
  return {
    config,
    logger,
    store,
    blobs,
    staging,
    processor,
    pageCache,
    redis,
    services,
    queryCounter,
    uploadFiles,
    tus: { datastore: uploadFiles.datastore, locker: uploadFiles.locker },
    metrics,
    startWorker() {
      worker ??= new JobWorker(
        { store, handlers, logger, wakeup, observe: (name, outcome, seconds) => metrics.observeJob(name, outcome, seconds) },
        {
          concurrency: config.jobs.concurrency,
          leaseMs: config.jobs.leaseSeconds * 1000,
          pollMs: config.jobs.pollMs,
          retryBaseMs: config.jobs.retryBaseMs,
          retryMaxMs: 3_600_000,
          drainMs: config.jobs.drainSeconds * 1000,
          schedules: jobSchedules(config),
        },
      ).start();
      return worker;
    },
    async close() {
      await worker?.stop();
      await processor.close();
      await uploadLocker.close();
      services.feed.close();
      await store.close();
      await closeCache();
      releaseDataDir();
    },
  };
}

/**
 * What a process killed on this data dir left behind, which nothing else would remove: garbage
 * collection runs on whichever worker takes the job, over its own data dir. Staged files of
 * requests that died with it (an hour later gc would take them, but only gc on this data dir) and
 * resumable-upload bytes whose row is gone.
 */
async function clearLocalLeftovers(deps: { store: MetadataStore; staging: StagingArea; uploadFiles: UploadFiles | null }, logger: Logger): Promise<void> {
  const staged = await deps.staging.clearLeftovers();
  const uploads = deps.uploadFiles ? await removeUnrecordedUploadFiles({ store: deps.store, files: deps.uploadFiles }) : 0;
  if (staged.files + uploads > 0)
    logger.info({ stagedFiles: staged.files, stagedBytes: staged.bytes, uploadFiles: uploads }, 'removed what an earlier process left in this data dir');
}

/** The periodic jobs, each enqueued once per interval across every worker process. */
function jobSchedules(config: Config): JobSchedule[] {
  const schedules: JobSchedule[] = [
    // Keeps the stats projection close to the log, so reading the stats has little to catch up.
    { name: 'stats.project', intervalMs: 60_000, job: { name: 'stats.project', payload: {}, key: 'stats.project' } },
    { name: 'records.expire', intervalMs: 3_600_000, job: { name: 'records.expire', payload: {}, key: 'records.expire' } },
  ];
  if (config.gc.intervalSeconds > 0) {
    schedules.push({ name: 'gc.collect', intervalMs: config.gc.intervalSeconds * 1000, job: { name: 'gc.collect', payload: {}, key: 'gc.collect' } });
  }
  if (config.uploads.sweepIntervalSeconds > 0) {
    schedules.push({
      name: 'uploads.sweep',
      intervalMs: config.uploads.sweepIntervalSeconds * 1000,
      job: { name: 'uploads.sweep', payload: {}, key: 'uploads.sweep' },
    });
  }
  return schedules;
}

interface HandlerDependencies {
  config: Config;
  logger: Logger;
  store: MetadataStore;
  blobs: BlobStore;
  processor: ImageProcessor;
  decodeBudget: DecodeBudget;
  uploadFiles: UploadFiles;
  services: Services;
  statsProjection: StatsProjection;
  uploadExpiryMs: number;
}

/** One handler per job name (the compiler checks none is missing), each a call into the core. */
function jobHandlers(deps: HandlerDependencies): JobHandlers {
  const { config, logger, store, blobs, processor, decodeBudget, uploadFiles, services } = deps;
  const metadata = new MetadataExtraction({ store, blobs, processor });
  const rendering = new DerivativeRendering({ store, blobs, processor, decodeBudget });
  return {
    'image.extract-metadata': (payload, context) => metadata.run(payload, context),
    'blob.render-derivative': async (payload) => {
      const outcome = await rendering.run(payload);
      if (outcome !== 'rendered') logger.warn({ sha256: payload.sha256, outcome }, 'derivative not rendered');
    },
    'gc.collect': async (payload, context) => {
      const report = await services.gc.collect({ graceMs: payload.graceMs ?? config.gc.graceMs, signal: context.signal });
      logger.info({ gc: report }, 'garbage collection finished');
    },
    'stats.project': async () => {
      await deps.statsProjection.catchUp();
    },
    'uploads.sweep': async () => {
      const report = await sweepExpiredUploads({ store, files: uploadFiles }, { now: Date.now(), orphanAgeMs: deps.uploadExpiryMs });
      if (report.expired + report.orphans + report.failed > 0) logger.info(report, 'swept expired uploads');
    },
    'records.expire': async () => {
      const report = await expireRecords(store, Date.now());
      logger.info(report, 'deleted expired records');
    },
  };
}

async function openMetadataStore(url: string, onQuery: ((sql: string) => void) | undefined): Promise<MetadataStore> {
  if (url.startsWith('sqlite:')) {
    const { openSqliteMetadataStore } = await import('./adapters/metadata/sqlite.js');
    return openSqliteMetadataStore(url.slice('sqlite:'.length), onQuery ? { onQuery } : {});
  }
  // Lazy: an embedded install never loads the PostgreSQL driver (STYLE.md, Directus).
  const { openPostgresMetadataStore } = await import('./adapters/metadata/postgres.js');
  return openPostgresMetadataStore(url, onQuery ? { onQuery } : {});
}

/**
 * A StartupError naming the cause and the fix when the database could not be opened for a reason
 * an operator mends (unreachable, unknown database or user, refused password), else null.
 */
function databaseStartupError(error: unknown, url: string): StartupError | null {
  const causes: { code?: unknown; message?: unknown }[] = [];
  for (let cause: unknown = error; cause instanceof Error && causes.length < 5; cause = cause.cause) {
    causes.push(cause as { code?: unknown });
    if (cause instanceof AggregateError) causes.push(...(cause.errors as { code?: unknown }[]));
  }
  const found = causes.find((cause) => typeof cause.code === 'string' && cause.code !== 'STORAGE_UNAVAILABLE');
  if (!found) return null;
  const code = found.code as string;
  const where = url.startsWith('sqlite:') ? `the SQLite file ${url.slice('sqlite:'.length)}` : `PostgreSQL at ${redactedUrl(url)}`;
  const message = typeof found.message === 'string' && found.message !== '' ? found.message : code;
  const hint =
    code === 'ECONNREFUSED'
      ? 'nothing listens there: is PostgreSQL running, and are the host and port in DATABASE_URL right?'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'the host name in DATABASE_URL does not resolve'
        : code === 'ETIMEDOUT' || code === 'EHOSTUNREACH'
          ? 'no answer: check the host in DATABASE_URL and any firewall between'
          : code === '3D000'
            ? `the database does not exist: create it once (\`createdb ${new URL(url).pathname.slice(1)}\`, or CREATE DATABASE) and start again`
            : code === '28P01' || code === '28000'
              ? 'PostgreSQL refused the user or password in DATABASE_URL (or pg_hba.conf refuses this host)'
              : code.startsWith('SQLITE_CANTOPEN') || code === 'EACCES'
                ? 'the file or its directory cannot be opened: check DATA_DIR / DATABASE_URL and permissions'
                : null;
  return hint
    ? new StartupError(
        `could not open the metadata database, ${where}: ${message} (${code}). ${hint[0]!.toUpperCase()}${hint.slice(1)}${hint.endsWith('?') ? '' : '.'}`,
      )
    : null;
}

/** The URL without its password, for messages. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** With `REDIS_URL`, the page cache lives in Redis over a connection the rate limiter shares; else in memory. */
async function openPageCache(config: Config, logger: Logger): Promise<{ redis: Redis | null; pageCache: PageCache; closeCache(): Promise<void> }> {
  if (config.redisUrl === undefined) return { redis: null, pageCache: new MemoryPageCache(config.feedCacheBytes), closeCache: async () => {} };
  // Lazy: an embedded install never loads ioredis (STYLE.md, Directus).
  const { closeRedis, connectRedis, RedisPageCache } = await import('./adapters/cache/redis-page-cache.js');
  const redis = await connectRedis(config.redisUrl, logger);
  const pageCache = new RedisPageCache(redis, { keyPrefix: `${config.redisKeyPrefix}page:`, log: logger });
  return { redis, pageCache, closeCache: () => closeRedis(redis) };
}

/** The configured blob store; with a fallback store, reads that miss it fall back (storage migration). */
async function openConfiguredBlobStore(config: Config, logger: Logger, startup: BlobStoreStartup | null): Promise<BlobStore> {
  const primary = await openBlobStore(config.blobStoreUrl, startup);
  if (config.blobStoreFallbackUrl === undefined) return primary;
  const { FallbackBlobStore } = await import('./adapters/blob/fallback-blob-store.js');
  logger.info('reads that miss the blob store fall back to BLOB_STORE_FALLBACK_URL until the storage migration is finished');
  if (config.blobStoreFallbackUrl.startsWith('file:') && !existsSync(config.blobStoreFallbackUrl.slice('file:'.length))) {
    logger.warn({ fallback: config.blobStoreFallbackUrl }, 'BLOB_STORE_FALLBACK_URL names a directory that does not exist: no read can fall back to it');
  }
  return new FallbackBlobStore(primary, await openBlobStore(config.blobStoreFallbackUrl, null), (key, operation) => {
    logger.info({ key, operation }, 'blob read from the fallback store (not yet migrated)');
  });
}

/**
 * A storage migration from `sourceUrl` to `targetUrl` (normalised blob store URLs), with its ledger
 * in the data dir, for `imagegram migrate-storage`.
 */
export async function createStorageMigration(
  config: Config,
  sourceUrl: string,
  targetUrl: string,
): Promise<{ migration: StorageMigration; ledgerPath: string; close(): Promise<void> }> {
  const { FileMigrationLedger, migrationLedgerPath } = await import('./adapters/blob/file-migration-ledger.js');
  const ledgerPath = migrationLedgerPath(config.dataDir, sourceUrl, targetUrl);
  // Never the URLs' query strings in a file: only what identifies the pair.
  const ledger = new FileMigrationLedger(ledgerPath, { source: sourceUrl.split('?')[0]!, target: targetUrl.split('?')[0]! });
  const migration = new StorageMigration({ source: await openBlobStore(sourceUrl, null), target: await openBlobStore(targetUrl, null), ledger });
  return { migration, ledgerPath, close: () => ledger.close() };
}

/** What a serve or worker process checks of its blob store at start-up. */
interface BlobStoreStartup {
  log: Logger;
  deploymentId(): Promise<string>;
}

/**
 * With `startup` (a serve or worker process), a bucket that is missing, refuses the credentials or
 * holds another database's blobs stops the start-up (StartupError).
 */
async function openBlobStore(url: string, startup: BlobStoreStartup | null): Promise<BlobStore> {
  if (url.startsWith('file:')) return new FsBlobStore(url.slice('file:'.length));
  // Lazy: a local-disk install never loads the AWS SDK (STYLE.md, Directus).
  const store = await openS3BlobStore(url);
  if (!startup) return store;
  const problem = await store.checkAtStartup();
  if (problem) {
    startup.log.warn(`The blob store is unreachable (${problem.unreachable}); starting anyway: /readyz reports it until it answers`);
  } else {
    await store.claimForDeployment(await startup.deploymentId());
  }
  return store;
}

/** The S3 blob store a normalised `s3://` BLOB_STORE_URL names (config.ts has spelled out every default). */
export async function openS3BlobStore(url: string): Promise<S3BlobStore> {
  const { S3BlobStore, s3ConnectionFromUrl } = await import('./adapters/blob/s3-blob-store.js');
  return new S3BlobStore(s3ConnectionFromUrl(url));
}

/**
 * Where resumable uploads keep their bytes: beside the blob directory (a finished upload is then
 * linked into the store, not copied), or, with an S3 blob store, in its bucket under
 * `<prefix>uploads/`, so that every process serves every upload.
 */
async function openUploadFiles(config: Config, expiryMs: number, locker: Locker): Promise<UploadFiles & { datastore: DataStore; locker: Locker }> {
  if (config.blobStoreUrl.startsWith('file:')) return TusFileUploadFiles.open(join(config.dataDir, 'uploads'), { expiryMs, locker });
  const { s3ConnectionFromUrl } = await import('./adapters/blob/s3-blob-store.js');
  const { TusS3UploadFiles, processBufferDirectory } = await import('./adapters/uploads/tus-s3-upload-files.js');
  return TusS3UploadFiles.open({
    connection: s3ConnectionFromUrl(config.blobStoreUrl),
    // Per process, emptied at start-up: parts in transit (4 × 8 MiB at most) and copies for ingest.
    bufferDirectory: await processBufferDirectory(join(config.dataDir, 'upload-buffers')),
    locker,
    expiryMs,
  });
}
