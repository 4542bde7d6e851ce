import type { Kysely } from 'kysely';
import type {
  CommentRepository,
  EventLog,
  FeedState,
  CollectionRepository,
  IdempotencyRepository,
  ImageRepository,
  MetadataRepositories,
  PostRepository,
  SessionRepository,
  InstanceSettings,
  UserRepository,
} from '../../ports/metadata-store.js';
import type { BlobRecordRepository, ImportLedgerRepository, StatsRepository } from '../../ports/blob-records.js';
import type { JobQueue } from '../../ports/job-queue.js';
import type { UploadLinkRepository, UploadRepository } from '../../ports/upload-repositories.js';
import { KyselyBlobRecordRepository } from './kysely-blob-record-repository.js';
import { KyselyCollectionRepository } from './kysely-collection-repository.js';
import { KyselyCommentRepository } from './kysely-comment-repository.js';
import { KyselyEventLog } from './kysely-event-log.js';
import { KyselyFeedState } from './kysely-feed-state.js';
import { KyselyIdempotencyRepository } from './kysely-idempotency-repository.js';
import { KyselyImageRepository } from './kysely-image-repository.js';
import { KyselyImportLedger } from './kysely-import-ledger.js';
import { KyselyInstanceSettings } from './kysely-instance-settings.js';
import { KyselyJobQueue } from './kysely-job-queue.js';
import { KyselyPostRepository } from './kysely-post-repository.js';
import { KyselySessionRepository } from './kysely-session-repository.js';
import { KyselyStatsRepository } from './kysely-stats-repository.js';
import { KyselyUploadLinkRepository } from './kysely-upload-link-repository.js';
import { KyselyUploadRepository } from './kysely-upload-repository.js';
import { KyselyUserRepository } from './kysely-user-repository.js';
import type { MetadataDialect } from './metadata-dialect.js';
import type { Database } from './schema.js';

/**
 * The repositories over one executor: the root `Kysely` (each call commits on its own) or a
 * `Transaction` (everything commits with it). The SQL is the same for both databases; where it
 * cannot be, the repository asks the dialect.
 */
export class KyselyRepositories implements MetadataRepositories {
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly images: ImageRepository;
  readonly events: EventLog;
  readonly posts: PostRepository;
  readonly comments: CommentRepository;
  readonly feed: FeedState;
  readonly idempotency: IdempotencyRepository;
  readonly collections: CollectionRepository;
  readonly uploads: UploadRepository;
  readonly uploadLinks: UploadLinkRepository;
  readonly jobs: JobQueue;
  readonly blobRecords: BlobRecordRepository;
  readonly stats: StatsRepository;
  readonly importLedger: ImportLedgerRepository;
  readonly settings: InstanceSettings;

  constructor(db: Kysely<Database>, dialect: MetadataDialect) {
    this.users = new KyselyUserRepository(db);
    this.sessions = new KyselySessionRepository(db, dialect);
    this.images = new KyselyImageRepository(db, dialect);
    this.events = new KyselyEventLog(db, dialect);
    this.posts = new KyselyPostRepository(db, dialect);
    this.comments = new KyselyCommentRepository(db, dialect);
    this.feed = new KyselyFeedState(db, dialect);
    this.idempotency = new KyselyIdempotencyRepository(db, dialect);
    this.collections = new KyselyCollectionRepository(db, dialect);
    this.uploads = new KyselyUploadRepository(db, dialect);
    this.uploadLinks = new KyselyUploadLinkRepository(db);
    this.jobs = new KyselyJobQueue(db, dialect);
    this.blobRecords = new KyselyBlobRecordRepository(db, dialect);
    this.stats = new KyselyStatsRepository(db, dialect);
    this.importLedger = new KyselyImportLedger(db, dialect);
    this.settings = new KyselyInstanceSettings(db);
  }
}
