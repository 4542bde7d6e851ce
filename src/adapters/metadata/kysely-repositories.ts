import type { Kysely } from 'kysely';
import { AppError } from '../../core/errors.js';
import type { NewEvent, StoredEvent } from '../../core/events/event.js';
import type { Image } from '../../core/images/image.js';
import type { Session, User } from '../../core/users/user.js';
import type {
  EventLog,
  ImageRepository,
  MetadataRepositories,
  SessionRepository,
  UserRepository,
} from '../../ports/metadata-store.js';
import type { MetadataDialect } from './metadata-dialect.js';
import * as rows from './row-mapping.js';
import type { Database } from './schema.js';

/**
 * The repositories over one executor: the root `Kysely` (each call commits on its own) or a
 * `Transaction` (everything commits with it). The SQL is the same for both databases.
 */
export class KyselyRepositories implements MetadataRepositories {
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly images: ImageRepository;
  readonly events: EventLog;

  constructor(db: Kysely<Database>, dialect: MetadataDialect) {
    this.users = new KyselyUserRepository(db);
    this.sessions = new KyselySessionRepository(db);
    this.images = new KyselyImageRepository(db);
    this.events = new KyselyEventLog(db, dialect);
  }
}

// Both databases bind at most 32,766 (SQLite) / 65,535 (pg) parameters per statement.
const idsPerQuery = 1000;

class KyselyUserRepository implements UserRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(user: User): Promise<void> {
    // ON CONFLICT DO NOTHING rather than catching the unique violation: on PostgreSQL a failed
    // statement aborts the surrounding transaction, here the caller's transaction stays usable.
    const inserted = await this.db
      .insertInto('users')
      .values(rows.userToRow(user))
      .onConflict((oc) => oc.column('username_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted === undefined) throw new AppError('USERNAME_TAKEN');
  }

  async findByUsername(username: string): Promise<User | null> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username_key', '=', rows.usernameKey(username))
      .executeTakeFirst();
    return row ? rows.userFromRow(row) : null;
  }

  async findById(id: string): Promise<User | null> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? rows.userFromRow(row) : null;
  }

  async findByIds(ids: readonly string[]): Promise<User[]> {
    const unique = [...new Set(ids)];
    const users: User[] = [];
    for (let start = 0; start < unique.length; start += idsPerQuery) {
      const chunk = unique.slice(start, start + idsPerQuery);
      const found = await this.db
        .selectFrom('users')
        .selectAll()
        .where('id', 'in', chunk)
        .execute();
      users.push(...found.map(rows.userFromRow));
    }
    return users;
  }
}

class KyselySessionRepository implements SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(session: Session): Promise<void> {
    await this.db.insertInto('sessions').values(rows.sessionToRow(session)).execute();
  }

  async findActive(
    tokenHash: string,
    now: number,
  ): Promise<{ session: Session; user: User } | null> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('users')
      .select([
        'sessions.token_hash',
        'sessions.user_id',
        'sessions.created_at as session_created_at',
        'sessions.expires_at',
      ])
      .where('sessions.token_hash', '=', tokenHash)
      .where('sessions.expires_at', '>', now)
      .executeTakeFirst();
    if (!row) return null;
    const session = rows.sessionFromRow({ ...row, created_at: row.session_created_at });
    return { session, user: rows.userFromRow(row) };
  }

  async delete(tokenHash: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('sessions')
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}

class KyselyImageRepository implements ImageRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insertOrGetExisting(image: Image): Promise<{ image: Image; created: boolean }> {
    // ON CONFLICT waits for a concurrent insert of the same (owner, sha256) to commit, so exactly
    // one row wins and the losers read it. Retried in case the winner is deleted in between.
    for (let attempt = 1; ; attempt++) {
      const inserted = await this.db
        .insertInto('images')
        .values(rows.imageToRow(image))
        .onConflict((oc) => oc.columns(['owner_id', 'sha256']).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) return { image: rows.imageFromRow(inserted), created: true };
      const existing = await this.findByOwnerAndHash(image.ownerId, image.sha256);
      if (existing) return { image: existing, created: false };
      if (attempt === 3) throw new Error(`images: (owner, sha256) conflicts, no row: ${image.id}`);
    }
  }

  async findById(id: string): Promise<Image | null> {
    const row = await this.db
      .selectFrom('images')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? rows.imageFromRow(row) : null;
  }

  async findByOwnerAndHash(ownerId: string, sha256: string): Promise<Image | null> {
    const row = await this.db
      .selectFrom('images')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    return row ? rows.imageFromRow(row) : null;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('images').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async markUploadCompleted(id: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('images')
      .set({ upload_completed_at: at, status: 'ready' })
      .where('id', '=', id)
      .where('upload_completed_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async countByHash(sha256: string): Promise<number> {
    const row = await this.db
      .selectFrom('images')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('sha256', '=', sha256)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}

class KyselyEventLog implements EventLog {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async append(...events: NewEvent[]): Promise<StoredEvent[]> {
    if (events.length === 0) return [];
    const at = Date.now();
    const write = async (tx: Kysely<Database>): Promise<StoredEvent[]> => {
      await this.dialect.lockEventLog(tx);
      const inserted = await tx
        .insertInto('events')
        .values(events.map((event) => rows.eventToRow(event, at)))
        .returningAll()
        .execute();
      // RETURNING rows come in arbitrary order (https://sqlite.org/lang_returning.html), but
      // positions are assigned in VALUES order, so sorting by position restores the given order.
      return inserted.sort((a, b) => a.position - b.position).map(rows.eventFromRow);
    };
    // The event-log lock lasts until commit, so an append outside a transaction gets its own.
    return this.db.isTransaction ? write(this.db) : this.db.transaction().execute(write);
  }

  async list(after: number, limit: number): Promise<StoredEvent[]> {
    const found = await this.db
      .selectFrom('events')
      .selectAll()
      .where('position', '>', after)
      .orderBy('position')
      .limit(limit)
      .execute();
    return found.map(rows.eventFromRow);
  }
}
