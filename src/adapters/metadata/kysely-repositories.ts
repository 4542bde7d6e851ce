import type { Kysely } from 'kysely';
import type {
  CommentRepository,
  EventLog,
  FeedState,
  IdempotencyRepository,
  ImageRepository,
  MetadataRepositories,
  PostRepository,
  SessionRepository,
  UserRepository,
} from '../../ports/metadata-store.js';
import { KyselyCommentRepository } from './kysely-comment-repository.js';
import { KyselyEventLog } from './kysely-event-log.js';
import { KyselyFeedState } from './kysely-feed-state.js';
import { KyselyIdempotencyRepository } from './kysely-idempotency-repository.js';
import { KyselyImageRepository } from './kysely-image-repository.js';
import { KyselyPostRepository } from './kysely-post-repository.js';
import { KyselySessionRepository } from './kysely-session-repository.js';
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

  constructor(db: Kysely<Database>, dialect: MetadataDialect) {
    this.users = new KyselyUserRepository(db);
    this.sessions = new KyselySessionRepository(db);
    this.images = new KyselyImageRepository(db);
    this.events = new KyselyEventLog(db, dialect);
    this.posts = new KyselyPostRepository(db, dialect);
    this.comments = new KyselyCommentRepository(db);
    this.feed = new KyselyFeedState(db);
    this.idempotency = new KyselyIdempotencyRepository(db);
  }
}
