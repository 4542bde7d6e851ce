import type { Kysely } from 'kysely';
import type { ImportEntry } from '../../core/imports/import-entry.js';
import type { ImportLedgerRepository } from '../../ports/blob-records.js';
import { writtenForLiveAccount } from './gone-account.js';
import type { MetadataDialect } from './metadata-dialect.js';
import type { Database } from './schema.js';

/** The bulk-import ledger over Kysely: one row per (owner, path). */
export class KyselyImportLedger implements ImportLedgerRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async find(ownerId: string, paths: readonly string[]): Promise<ImportEntry[]> {
    if (paths.length === 0) return [];
    const rows = await this.db.selectFrom('import_ledger').selectAll().where('owner_id', '=', ownerId).where(this.dialect.isIn('path', paths)).execute();
    return rows.map((row) => ({
      ownerId: row.owner_id,
      path: row.path,
      size: row.size,
      modifiedAt: row.modified_at,
      // Only this repository writes the column, from the same closed union.
      outcome: row.outcome as ImportEntry['outcome'],
      imageId: row.image_id,
      detail: row.detail,
      recordedAt: row.recorded_at,
    }));
  }

  async record(entry: ImportEntry): Promise<void> {
    const row = {
      owner_id: entry.ownerId,
      path: entry.path,
      size: entry.size,
      modified_at: entry.modifiedAt,
      outcome: entry.outcome,
      image_id: entry.imageId,
      detail: entry.detail,
      recorded_at: entry.recordedAt,
    };
    const { owner_id: _owner, path: _path, ...changes } = row;
    await writtenForLiveAccount(this.dialect, () =>
      this.db
        .insertInto('import_ledger')
        .values(row)
        .onConflict((oc) => oc.columns(['owner_id', 'path']).doUpdateSet(changes))
        .execute(),
    );
  }
}
