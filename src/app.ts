import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { AdminAuth } from './core/admin/admin-auth.js';
import { ImageIngest } from './core/images/image-ingest.js';
import { ImageService } from './core/images/image-service.js';
import { IdempotentWrites } from './core/idempotency/idempotent-writes.js';
import { CommentService } from './core/posts/comment-service.js';
import { FeedService } from './core/posts/feed-service.js';
import { OpaqueCursor } from './core/posts/opaque-cursor.js';
import { PostService } from './core/posts/post-service.js';
import { AccountService } from './core/users/account-service.js';
import type { BlobStore } from './ports/blob-store.js';
import type { ImageProcessor } from './ports/image-processor.js';
import type { MetadataStore } from './ports/metadata-store.js';
import type { PageCache } from './ports/page-cache.js';
import type { StagingArea } from './ports/staging-area.js';
import { FsBlobStore } from './adapters/blob/fs-blob-store.js';
import { FsStagingArea } from './adapters/staging/fs-staging-area.js';
import { MemoryPageCache } from './adapters/cache/memory-page-cache.js';
import { SharpImageProcessor } from './adapters/image/sharp-image-processor.js';
import { loadOrCreateAdminToken } from './admin-token.js';

/** The use-case services, shared by every transport so REST, GraphQL and the CLI cannot disagree. */
export interface Services {
  accounts: AccountService;
  images: ImageService;
  ingest: ImageIngest;
  admin: AdminAuth;
  posts: PostService;
  comments: CommentService;
  feed: FeedService;
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
  close(): Promise<void>;
}

/** Composition root: picks one adapter per port from the config and wires the services. */
export async function createApp(config: Config, logger: Logger): Promise<App> {
  const store = await openMetadataStore(config.databaseUrl);
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
  const services: Services = {
    accounts,
    images: new ImageService(store, blobs),
    ingest: new ImageIngest(
      { store, blobs, staging, processor },
      { ...limits, maxBytes: config.maxUploadBytes, decodeConcurrency: Math.max(2, availableParallelism()) },
    ),
    admin: new AdminAuth(adminToken),
    posts: new PostService(store, idempotent),
    comments: new CommentService(store, idempotent, cursors),
    feed: new FeedService(store, cursors),
  };
  return {
    config,
    logger,
    store,
    blobs,
    staging,
    processor,
    pageCache: new MemoryPageCache(config.feedCacheBytes),
    services,
    async close() {
      await processor.close();
      await store.close();
    },
  };
}

async function openMetadataStore(url: string): Promise<MetadataStore> {
  if (url.startsWith('sqlite:')) {
    const { openSqliteMetadataStore } = await import('./adapters/metadata/sqlite.js');
    return openSqliteMetadataStore(url.slice('sqlite:'.length));
  }
  // Lazy: an embedded install never loads the PostgreSQL driver (STYLE.md, Directus).
  const { openPostgresMetadataStore } = await import('./adapters/metadata/postgres.js');
  return openPostgresMetadataStore(url);
}

function openBlobStore(url: string): BlobStore {
  return new FsBlobStore(url.slice('file:'.length));
}
