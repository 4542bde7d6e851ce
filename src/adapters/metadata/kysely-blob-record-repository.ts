import type { Kysely, Selectable } from 'kysely';
import type { BlobRecord } from '../../core/blobs/blob-record.js';
import type { BlobRecordRepository, PinResult } from '../../ports/blob-records.js';
import type { MetadataDialect } from './metadata-dialect.js';
import type { BlobRecordsTable, Database } from './schema.js';

/**
 * Blob records over Kysely. The pin/claim protocol rests on the record's row lock: `pin` upserts
 * the row (locking it) before adding its pin, and `claimForDeletion` locks the row first and only
 * then checks for images and pins, each check a statement of its own. On PostgreSQL (READ
 * COMMITTED) every statement sees what committed before it started, so a pin committed while the
 * claim waited for the lock is seen; on SQLite writers are serialised anyway.
 */
export class KyselyBlobRecordRepository implements BlobRecordRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async pin(sha256: string, size: number, pinId: string, now: number, until: number): Promise<PinResult> {
    const work = async (tx: Kysely<Database>): Promise<PinResult> => {
      const live = await tx
        .insertInto('blob_records')
        .values({ sha256, size, state: 'live', created_at: now, unreferenced_since: now, missing_since: null, state_changed_at: now })
        // A no-op update, for its lock and its WHERE: a claimed record is left alone.
        .onConflict((oc) =>
          oc
            .column('sha256')
            .doUpdateSet({ size: (eb) => eb.ref('blob_records.size') })
            .where('blob_records.state', '=', 'live'),
        )
        .returning('sha256')
        .executeTakeFirst();
      if (!live) return 'deleting';
      await tx.insertInto('blob_pins').values({ id: pinId, sha256, expires_at: until }).execute();
      return 'pinned';
    };
    return this.db.isTransaction ? work(this.db) : this.db.transaction().execute(work);
  }

  async unpin(pinId: string): Promise<void> {
    await this.db.deleteFrom('blob_pins').where('id', '=', pinId).execute();
  }

  async find(sha256: string): Promise<BlobRecord | null> {
    const row = await this.db.selectFrom('blob_records').selectAll().where('sha256', '=', sha256).executeTakeFirst();
    return row ? recordFromRow(row) : null;
  }

  async existing(hashes: readonly string[]): Promise<string[]> {
    if (hashes.length === 0) return [];
    const rows = await this.db.selectFrom('blob_records').select('sha256').where(this.dialect.isIn('sha256', hashes)).execute();
    return rows.map((row) => row.sha256);
  }

  async recordDiscovered(sha256: string, size: number, unreferencedSince: number, now: number): Promise<boolean> {
    const result = await this.db
      .insertInto('blob_records')
      .values({ sha256, size, state: 'live', created_at: now, unreferenced_since: unreferencedSince, missing_since: null, state_changed_at: now })
      .onConflict((oc) => oc.column('sha256').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  async markUnreferenced(after: string | null, limit: number, now: number): Promise<{ last: string | null; marked: number }> {
    let page = this.db.selectFrom('blob_records').select('sha256').orderBy('sha256').limit(limit);
    if (after !== null) page = page.where('sha256', '>', after);
    const hashes = (await page.execute()).map((row) => row.sha256);
    if (hashes.length === 0) return { last: null, marked: 0 };
    const result = await this.db
      .updateTable('blob_records')
      .set({ unreferenced_since: now })
      .where(this.dialect.isIn('sha256', hashes))
      .where('state', '=', 'live')
      .where('unreferenced_since', 'is', null)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('images').select('images.id').whereRef('images.sha256', '=', 'blob_records.sha256'))))
      .executeTakeFirst();
    return { last: hashes.length === limit ? hashes[hashes.length - 1]! : null, marked: Number(result.numUpdatedRows) };
  }

  async listCollectable(unreferencedBefore: number, after: string | null, limit: number): Promise<BlobRecord[]> {
    let query = this.db
      .selectFrom('blob_records')
      .selectAll()
      .where('state', '=', 'live')
      .where('unreferenced_since', '<=', unreferencedBefore)
      .orderBy('sha256')
      .limit(limit);
    if (after !== null) query = query.where('sha256', '>', after);
    return (await query.execute()).map(recordFromRow);
  }

  async listReferenced(after: string | null, limit: number): Promise<BlobRecord[]> {
    let query = this.db
      .selectFrom('blob_records')
      .selectAll()
      .where('state', '=', 'live')
      .where('unreferenced_since', 'is', null)
      .orderBy('sha256')
      .limit(limit);
    if (after !== null) query = query.where('sha256', '>', after);
    return (await query.execute()).map(recordFromRow);
  }

  async listStuckDeleting(claimedBefore: number, limit: number): Promise<BlobRecord[]> {
    const rows = await this.db
      .selectFrom('blob_records')
      .selectAll()
      .where('state', '=', 'deleting')
      .where('state_changed_at', '<', claimedBefore)
      .orderBy('sha256')
      .limit(limit)
      .execute();
    return rows.map(recordFromRow);
  }

  async claimForDeletion(sha256: string, unreferencedBefore: number, now: number): Promise<boolean> {
    const work = async (tx: Kysely<Database>): Promise<boolean> => {
      // Lock first; the checks below are separate statements so each sees every commit before it.
      const record = await this.dialect
        .lockRows(tx.selectFrom('blob_records').selectAll().where('sha256', '=', sha256), { skipLocked: false })
        .executeTakeFirst();
      if (record?.state !== 'live' || record.unreferenced_since === null || record.unreferenced_since > unreferencedBefore) return false;
      const image = await tx.selectFrom('images').select('id').where('sha256', '=', sha256).limit(1).executeTakeFirst();
      if (image) return false;
      const pin = await tx.selectFrom('blob_pins').select('id').where('sha256', '=', sha256).where('expires_at', '>', now).limit(1).executeTakeFirst();
      if (pin) return false;
      await tx.updateTable('blob_records').set({ state: 'deleting', state_changed_at: now }).where('sha256', '=', sha256).execute();
      return true;
    };
    return this.db.isTransaction ? work(this.db) : this.db.transaction().execute(work);
  }

  async claimMissing(sha256: string, missingBefore: number, now: number): Promise<boolean> {
    const record = await this.dialect
      .lockRows(this.db.selectFrom('blob_records').selectAll().where('sha256', '=', sha256), { skipLocked: false })
      .executeTakeFirst();
    if (record?.state !== 'live' || record.missing_since === null || record.missing_since > missingBefore) return false;
    const pin = await this.db.selectFrom('blob_pins').select('id').where('sha256', '=', sha256).where('expires_at', '>', now).limit(1).executeTakeFirst();
    return pin === undefined;
  }

  async reclaimStuck(sha256: string, claimedBefore: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('blob_records')
      .set({ state_changed_at: now })
      .where('sha256', '=', sha256)
      .where('state', '=', 'deleting')
      .where('state_changed_at', '<', claimedBefore)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async holdsClaim(sha256: string, claimedAt: number): Promise<boolean> {
    const row = await this.db.selectFrom('blob_records').select(['state', 'state_changed_at']).where('sha256', '=', sha256).executeTakeFirst();
    return row?.state === 'deleting' && Number(row.state_changed_at) === claimedAt;
  }

  async finishDeletion(sha256: string, claimedAt: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('blob_records')
      .where('sha256', '=', sha256)
      .where('state', '=', 'deleting')
      .where('state_changed_at', '=', claimedAt)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async markMissing(sha256: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('blob_records')
      .set({ missing_since: now })
      .where('sha256', '=', sha256)
      .where('missing_since', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async clearMissing(sha256: string): Promise<boolean> {
    const result = await this.db
      .updateTable('blob_records')
      .set({ missing_since: null })
      .where('sha256', '=', sha256)
      .where('missing_since', 'is not', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async deleteExpiredPins(now: number): Promise<number> {
    const result = await this.db.deleteFrom('blob_pins').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('blob_records')
      .select((eb) => eb.fn.countAll().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}

function recordFromRow(row: Selectable<BlobRecordsTable>): BlobRecord {
  return {
    sha256: row.sha256,
    size: row.size,
    // Only this repository writes the column, from the same closed union.
    state: row.state as BlobRecord['state'],
    createdAt: row.created_at,
    unreferencedSince: row.unreferenced_since,
    missingSince: row.missing_since,
    stateChangedAt: row.state_changed_at,
  };
}
