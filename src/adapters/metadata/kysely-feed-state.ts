import type { Kysely } from 'kysely';
import type { FeedState } from '../../ports/metadata-store.js';
import type { Database } from './schema.js';

// The single row migration 0002 inserted.
const feedStateId = 1;

/** The feed version, one row bumped in the transaction of every feed-changing write. */
export class KyselyFeedState implements FeedState {
  constructor(private readonly db: Kysely<Database>) {}

  async version(): Promise<number> {
    const row = await this.db
      .selectFrom('feed_state')
      .select('version')
      .where('id', '=', feedStateId)
      .executeTakeFirstOrThrow();
    return Number(row.version);
  }

  async bump(): Promise<void> {
    // Relative, so concurrent bumps never collapse into one. On PostgreSQL the row lock lasts
    // until commit: feed writers queue here, and versions are handed out in commit order.
    await this.db
      .updateTable('feed_state')
      .set((eb) => ({ version: eb('version', '+', 1) }))
      .where('id', '=', feedStateId)
      .execute();
  }
}
