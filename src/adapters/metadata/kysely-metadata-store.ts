import { type Kysely, Migrator, sql } from 'kysely';
import { isAppError } from '../../core/errors.js';
import type {
  EventLog,
  ImageRepository,
  MetadataRepositories,
  MetadataStore,
  SessionRepository,
  UserRepository,
} from '../../ports/metadata-store.js';
import { KyselyRepositories } from './kysely-repositories.js';
import type { MetadataDialect } from './metadata-dialect.js';
import { metadataMigrations } from './migrations.js';
import type { Database } from './schema.js';

/**
 * The MetadataStore over Kysely, for SQLite and PostgreSQL alike. Open it with
 * `openSqliteMetadataStore` or `openPostgresMetadataStore`, which build the `Kysely` instance
 * (with unreachable-database errors already mapped to STORAGE_UNAVAILABLE) and the dialect.
 */
export class KyselyMetadataStore implements MetadataStore {
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly images: ImageRepository;
  readonly events: EventLog;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {
    const root = new KyselyRepositories(db, dialect);
    this.users = root.users;
    this.sessions = root.sessions;
    this.images = root.images;
    this.events = root.events;
  }

  /**
   * Runs `work` in one transaction on one connection. On SQLite the store has a single
   * connection: calling the store itself (not `tx`) from inside `work` would wait for `work`
   * forever, so don't.
   */
  transaction<T>(work: (tx: MetadataRepositories) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((tx) => work(new KyselyRepositories(tx, this.dialect)));
  }

  /**
   * Applies pending migrations with Kysely's Migrator, which serialises concurrent runs: an
   * advisory lock on PostgreSQL, an immediate (write-locked) transaction on SQLite.
   */
  async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.db, provider: metadataMigrations(this.dialect) });
    const { error, results } = await migrator.migrateToLatest();
    if (error !== undefined) {
      const failed = results?.find((result) => result.status === 'Error');
      if (failed === undefined || isAppError(error)) throw error;
      throw new Error(`migration ${failed.migrationName} failed`, { cause: error });
    }
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
