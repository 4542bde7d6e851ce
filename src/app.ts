import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { DataStore, Locker } from '@tus/server';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { AdminAuth } from './core/admin/admin-auth.js';
import { CollectionService } from './core/collections/collection-service.js';
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
import { loadOrCreateAdminToken } from './admin-token.js';
import { PeriodicTask } from './periodic-task.js';
import { QueryCounter } from './query-counter.js';

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
  services: Services;
  /** The bytes of resumable uploads. */
  uploadFiles: UploadFiles;
  /** What @tus/server serves `/uploads` from: the same store and locks as `uploadFiles`. */
  tus: { datastore: DataStore; locker: Locker };
  /** Counts each request's SQL statements when `debugQueryCount` is on (a debug aid), else null. */
  queryCounter: QueryCounter | null;
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
  const blobs = openBlobStore(config.blobStoreUrl);
  // Staging sits in the data dir beside the default blob directory, so promotion is a hard link.
  const staging = new FsStagingArea(join(config.dataDir, 'staging'));
  const limits = { maxPixels: config.maxImagePixels, maxDimension: config.maxImageDimension };
  const processor = new SharpImageProcessor(limits);
  const adminToken = await loadOrCreateAdminToken(config, logger);

  const accounts = new AccountService(store, { sessionTtlMs: config.sessionTtlSeconds * 1000 });
  // A minute of lease covers any honest request; a crashed one frees its key after it.
  const idempotent = new IdempotentWrites(store, { ttlMs: config.idempotencyTtlSeconds * 1000, leaseMs: 60_000 });
  // Cursors are signed with a key derived from the admin token, which every process of a deployment shares.
  const cursors = new OpaqueCursor(adminToken);
  const images = new ImageService(store, blobs);
  const ingest = new ImageIngest(
    { store, blobs, staging, processor },
    { ...limits, maxBytes: config.maxUploadBytes, decodeConcurrency: Math.max(2, availableParallelism()) },
  );
  // Beside the blob directory, like staging: a finished upload is linked into the store, not copied.
  const uploadExpiryMs = config.uploads.expirySeconds * 1000;
  const uploadFiles = await TusFileUploadFiles.open(join(config.dataDir, 'uploads'), { expiryMs: uploadExpiryMs });
  const services: Services = {
    accounts,
    images,
    ingest,
    admin: new AdminAuth(adminToken),
    posts: new PostService(store, idempotent),
    comments: new CommentService(store, idempotent, cursors),
    feed: new FeedService(store, cursors),
    collections: new CollectionService(store, images, cursors),
    uploads: new UploadService({ store, files: uploadFiles, ingest }, { expiryMs: uploadExpiryMs, maxBytes: config.maxUploadBytes }),
    uploadLinks: new UploadLinkService({ store, ingest }, { maxBytes: config.uploads.linkMaxBytes, maxImages: config.uploads.linkMaxImages }),
  };
  const uploadSweep = new PeriodicTask('upload sweep', async () => {
    const report = await sweepExpiredUploads({ store, files: uploadFiles }, { now: Date.now(), orphanAgeMs: uploadExpiryMs });
    if (report.expired + report.orphans + report.failed > 0) logger.info(report, 'swept expired uploads');
  }, config.uploads.sweepIntervalSeconds * 1000, logger);
  if (config.uploads.sweepIntervalSeconds > 0) uploadSweep.start();
  // Claims already ignore expired keys; this only reclaims their rows (hourly is plenty).
  const idempotencyCleanup = new PeriodicTask('idempotency key cleanup', async () => {
    const removed = await store.idempotency.deleteExpired(Date.now());
    if (removed > 0) logger.info({ removed }, 'deleted expired idempotency keys');
  }, 60 * 60 * 1000, logger).start();
  return {
    config,
    logger,
    store,
    blobs,
    staging,
    processor,
    pageCache: new MemoryPageCache(config.feedCacheBytes),
    services,
    queryCounter,
    uploadFiles,
    tus: { datastore: uploadFiles.datastore, locker: uploadFiles.locker },
    async close() {
      await uploadSweep.stop();
      await idempotencyCleanup.stop();
      await processor.close();
      await store.close();
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

function openBlobStore(url: string): BlobStore {
  return new FsBlobStore(url.slice('file:'.length));
}
