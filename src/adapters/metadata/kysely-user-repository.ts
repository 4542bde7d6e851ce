import type { Kysely } from 'kysely';
import { AppError } from '../../core/errors.js';
import type { User } from '../../core/users/user.js';
import type { UserRepository } from '../../ports/metadata-store.js';
import * as rows from './row-mapping.js';
import type { Database } from './schema.js';

// Both databases bind at most 32,766 (SQLite) / 65,535 (pg) parameters per statement.
const idsPerQuery = 1000;

/** Users over Kysely; usernames are unique by `usernameKey`. */
export class KyselyUserRepository implements UserRepository {
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
    const row = await this.db.selectFrom('users').selectAll().where('username_key', '=', rows.usernameKey(username)).executeTakeFirst();
    return row ? rows.userFromRow(row) : null;
  }

  async findById(id: string): Promise<User | null> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? rows.userFromRow(row) : null;
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<boolean> {
    const result = await this.db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async findByIds(ids: readonly string[]): Promise<User[]> {
    const unique = [...new Set(ids)];
    const users: User[] = [];
    for (let start = 0; start < unique.length; start += idsPerQuery) {
      const chunk = unique.slice(start, start + idsPerQuery);
      const found = await this.db.selectFrom('users').selectAll().where('id', 'in', chunk).execute();
      users.push(...found.map(rows.userFromRow));
    }
    return users;
  }
}
