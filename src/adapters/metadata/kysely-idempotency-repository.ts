import type { Kysely } from 'kysely';
import type { IdempotencyRecord } from '../../core/idempotency/idempotency-record.js';
import type { IdempotencyRepository } from '../../ports/metadata-store.js';
import { writtenForLiveAccount } from './gone-account.js';
import type { MetadataDialect } from './metadata-dialect.js';
import * as rows from './post-row-mapping.js';
import type { Database } from './schema.js';

type ClaimOutcome = { claimed: true } | { claimed: false; existing: IdempotencyRecord };

/** Remembered Idempotency-Keys over Kysely, one row per (user, key). */
export class KyselyIdempotencyRepository implements IdempotencyRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async claim(record: IdempotencyRecord, now: number): Promise<ClaimOutcome> {
    const row = rows.idempotencyToRow(record);
    // Each step is one atomic statement, never read-then-write, so of concurrent claims exactly
    // one wins on both databases. Retried in case the holder releases between two steps.
    for (let attempt = 1; ; attempt++) {
      // ON CONFLICT waits for a concurrent insert of the same key to commit, then does nothing.
      const inserted = await writtenForLiveAccount(this.dialect, () =>
        this.db
          .insertInto('idempotency_keys')
          .values(row)
          .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing())
          .executeTakeFirst(),
      );
      if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return { claimed: true };
      // Take over a forgotten or abandoned key. PostgreSQL re-checks the WHERE on the row a
      // concurrent taker just updated (READ COMMITTED), so that taker's fresh lease excludes us.
      const takenOver = await this.db
        .updateTable('idempotency_keys')
        .set(row)
        .where('user_id', '=', record.userId)
        .where('key', '=', record.key)
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb.and([eb('result', 'is', null), eb('lease_until', '<', now)])]))
        .executeTakeFirst();
      if (takenOver.numUpdatedRows > 0n) return { claimed: true };
      const existing = await this.#find(record.userId, record.key);
      if (existing) return { claimed: false, existing };
      if (attempt === 3) throw new Error(`idempotency_keys: ${record.key} keeps vanishing`);
    }
  }

  async complete(userId: string, key: string, result: string): Promise<void> {
    await this.db.updateTable('idempotency_keys').set({ result }).where('user_id', '=', userId).where('key', '=', key).execute();
  }

  async release(userId: string, key: string): Promise<void> {
    // Only an in-flight claim: a completed one must keep replaying its result.
    await this.db.deleteFrom('idempotency_keys').where('user_id', '=', userId).where('key', '=', key).where('result', 'is', null).execute();
  }

  async deleteExpired(now: number): Promise<number> {
    const result = await this.db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async #find(userId: string, key: string): Promise<IdempotencyRecord | null> {
    const row = await this.db.selectFrom('idempotency_keys').selectAll().where('user_id', '=', userId).where('key', '=', key).executeTakeFirst();
    return row ? rows.idempotencyFromRow(row) : null;
  }
}
