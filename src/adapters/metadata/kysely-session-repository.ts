import type { Kysely } from 'kysely';
import type { Session, User } from '../../core/users/user.js';
import type { SessionRepository } from '../../ports/metadata-store.js';
import { compiledOnce } from './compiled-once.js';
import { writtenForLiveAccount } from './gone-account.js';
import type { MetadataDialect } from './metadata-dialect.js';
import * as rows from './row-mapping.js';
import type { Database } from './schema.js';

/** Sessions over Kysely, keyed by the token's hash. */
export class KyselySessionRepository implements SessionRepository {
  // Every authenticated request runs this lookup: built once, prepared where the dialect can.
  private readonly activeSession = compiledOnce((tokenHash: string, now: number) =>
    this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['users.id', 'users.username', 'users.password_hash', 'users.created_at'])
      .select(['sessions.token_hash', 'sessions.user_id', 'sessions.created_at as session_created_at', 'sessions.expires_at'])
      .where('sessions.token_hash', '=', tokenHash)
      .where('sessions.expires_at', '>', now),
  );

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async insert(session: Session): Promise<void> {
    await writtenForLiveAccount(this.dialect, () => this.db.insertInto('sessions').values(rows.sessionToRow(session)).execute());
  }

  async findActive(tokenHash: string, now: number): Promise<{ session: Session; user: User } | null> {
    const query = this.activeSession(this.db, tokenHash, now);
    const [row] = (await this.db.executeQuery(this.dialect.preparedStatement?.('imagegram_find_session', query) ?? query)).rows;
    if (!row) return null;
    const session = rows.sessionFromRow({ ...row, created_at: row.session_created_at });
    return { session, user: { id: row.id, username: row.username, passwordHash: row.password_hash, createdAt: row.created_at } };
  }

  async delete(tokenHash: string): Promise<boolean> {
    const result = await this.db.deleteFrom('sessions').where('token_hash', '=', tokenHash).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async deleteByUser(userId: string, keep: string | null): Promise<number> {
    const result = await this.db
      .deleteFrom('sessions')
      .where('user_id', '=', userId)
      .$if(keep !== null, (query) => query.where('token_hash', '<>', keep as string))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async deleteExpired(now: number): Promise<number> {
    const result = await this.db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
