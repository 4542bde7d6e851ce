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
import { IdempotentWrites } from './core/idempotency/idempotent-writes.js';
import { CommentService } from './core/posts/comment-service.js';
import { FeedService } from './core/posts/feed-service.js';
import { OpaqueCursor } from './core/posts/opaque-cursor.js';
import { PostService } from './core/posts/post-service.js';
import { AccountService } from './core/users/account-service.js';
import { UploadLinkService } from './core/uploads/upload-link-service.js';
import { UploadService } from './core/uploads/upload-service.js';
import { sweepExpiredUploads } from './core/uploads/upload-sweep.js';
import { BlobVerification } from './core/blobs/blob-verification.js';
import { EventLogReader } from './core/events/event-log-reader.js';
import { GarbageCollector } from './core/gc/garbage-collector.js';
import { DerivativeRendering } from './core/images/derivative-rendering.js';
import { IncompleteUploadRepair } from './core/images/incomplete-upload-repair.js';
import { MetadataExtraction } from './core/images/metadata-extraction.js';
import { BulkImport } from './core/imports/bulk-import.js';
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
import { FsStagingArea } from './adapters/staging/fs-staging-area.js';
import { MemoryPageCache } from './adapters/cache/memory-page-cache.js';
import { SharpImageProcessor } from './adapters/image/sharp-image-processor.js';
import { TusFileUploadFiles } from './adapters/uploads/tus-file-upload-files.js';
import { openUploadLocker } from './adapters/uploads/upload-locker.js';
import { loadOrCreateAdminToken, loadOrCreateCursorSecret } from './stored-secrets.js';
import { QueryCounter } from './query-counter.js';
import { Metrics } from './transports/metrics.js';
import { type JobSchedule, JobWorker } from './transports/worker/job-worker.js';

/** The use-case services, shared by every transport so REST, GraphQL and the CLI cannot disagree. */
export interface Services {
  accounts: AccountService;
  images: ImageService;
  ingest: ImageIngest;
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

/** Composition root: picks one adapter per port from the config and wires the services. */
export async function createApp(config: Config, logger: Logger): Promise<App> {
  const queryCounter = config.debugQueryCount ? new QueryCounter() : null;
  const store = await openMetadataStore(config.databaseUrl, queryCounter?.onQuery);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  const blobs = await openBlobStore(config.blobStoreUrl);
  // Staging sits in the data dir beside the default blob directory, so promotion is a hard link.
  const staging = new FsStagingArea(join(config.dataDir, 'staging'));
  const limits = { maxPixels: config.maxImagePixels, maxDimension: config.maxImageDimension };
  const processor = new SharpImageProcessor(limits);
  // One budget for every decode in this process (uploads, imports, reprocessing jobs). Two decodes
  // at most: sharp runs about one thread per image, so more only queue inside libvips (STYLE.md).
  const decodeBudget = new DecodeBudget({ bytes: config.decodeMemoryBytes, concurrency: Math.max(2, availableParallelism()) });
  const adminToken = await loadOrCreateAdminToken(config, logger);
  const { redis, pageCache, closeCache } = await openPageCache(config, logger);

  const accounts = new AccountService(store, { sessionTtlMs: config.sessionTtlSeconds * 1000 });
  // A minute of lease covers any honest request; a crashed one frees its key after it.
  const idempotent = new IdempotentWrites(store, { ttlMs: config.idempotencyTtlSeconds * 1000, leaseMs: 60_000 });
  // A secret of its own, shared by every process of a deployment: rotating the admin token keeps cursors valid.
  const cursors = new OpaqueCursor(await loadOrCreateCursorSecret(config, logger));
  const wakeup = new JobWakeup();
  const repair = new IncompleteUploadRepair({ store, blobs }, { maxAgeMs: config.gc.readRepairAfterMs });
  const images = new ImageService(store, blobs, repair);
  const ingest = new ImageIngest(
    { store, blobs, staging, processor, wakeup },
    { ...limits, maxBytes: config.maxUploadBytes, decodeBudget },
  );
  const uploadExpiryMs = config.uploads.expirySeconds * 1000;
  // Shared by every process on the same database (or Redis), so any of them may serve any upload
  // whose bytes they share (the S3 store); in memory for the embedded single process.
  const uploadLocker = await openUploadLocker({ databaseUrl: config.databaseUrl, redis, redisKeyPrefix: config.redisKeyPrefix, log: logger });
  const uploadFiles = await openUploadFiles(config, uploadExpiryMs, uploadLocker);
  const collections = new CollectionService(store, images, cursors);
  const statsProjection = new StatsProjection(store);
  const services: Services = {
    accounts,
    images,
    ingest,
    admin: new AdminAuth(adminToken),
    posts: new PostService(store, idempotent),
    comments: new CommentService(store, idempotent, cursors),
    feed: new FeedService(store, cursors),
    collections,
    uploads: new UploadService({ store, files: uploadFiles, ingest }, { expiryMs: uploadExpiryMs, maxBytes: config.maxUploadBytes }),
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
  const metrics = new Metrics(store);
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
      await store.close();
      await closeCache();
    },
  };
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
    schedules.push({ name: 'uploads.sweep', intervalMs: config.uploads.sweepIntervalSeconds * 1000, job: { name: 'uploads.sweep', payload: {}, key: 'uploads.sweep' } });
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

/** With `REDIS_URL`, the page cache lives in Redis over a connection the rate limiter shares; else in memory. */
async function openPageCache(config: Config, logger: Logger): Promise<{ redis: Redis | null; pageCache: PageCache; closeCache(): Promise<void> }> {
  if (config.redisUrl === undefined) return { redis: null, pageCache: new MemoryPageCache(config.feedCacheBytes), closeCache: async () => {} };
  // Lazy: an embedded install never loads ioredis (STYLE.md, Directus).
  const { closeRedis, connectRedis, RedisPageCache } = await import('./adapters/cache/redis-page-cache.js');
  const redis = await connectRedis(config.redisUrl, logger);
  const pageCache = new RedisPageCache(redis, { keyPrefix: `${config.redisKeyPrefix}page:`, log: logger });
  return { redis, pageCache, closeCache: () => closeRedis(redis) };
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

async function openBlobStore(url: string): Promise<BlobStore> {
  if (url.startsWith('file:')) return new FsBlobStore(url.slice('file:'.length));
  // Lazy: a local-disk install never loads the AWS SDK (STYLE.md, Directus). config.ts has
  // validated the URL and spelled out every default.
  const { S3BlobStore, s3ConnectionFromUrl } = await import('./adapters/blob/s3-blob-store.js');
  return new S3BlobStore(s3ConnectionFromUrl(url));
}
