import type { Kysely } from 'kysely';
import type { ResumableUpload } from '../../core/uploads/resumable-upload.js';
import type { UploadRepository } from '../../ports/upload-repositories.js';
import { writtenForLiveAccount } from './gone-account.js';
import type { MetadataDialect } from './metadata-dialect.js';
import type { Database } from './schema.js';
import * as rows from './upload-row-mapping.js';

/**
 * Resumable uploads over Kysely. Each state change is one UPDATE/DELETE whose WHERE states the
 * precondition, never read-then-write: PostgreSQL re-checks the WHERE on a row a concurrent
 * writer just changed (READ COMMITTED), SQLite serialises writers, so both pick one winner.
 */
export class KyselyUploadRepository implements UploadRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async insert(upload: ResumableUpload): Promise<void> {
    await writtenForLiveAccount(this.dialect, () => this.db.insertInto('uploads').values(rows.uploadToRow(upload)).execute());
  }

  async findById(id: string): Promise<ResumableUpload | null> {
    const row = await this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? rows.uploadFromRow(row) : null;
  }

  async recordReceived(id: string, received: number): Promise<boolean> {
    const result = await this.db.updateTable('uploads').set({ received }).where('id', '=', id).where('finished_at', 'is', null).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async markFinished(id: string, sha256: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('uploads')
      .set((eb) => ({ sha256, finished_at: at, received: eb.ref('size') }))
      .where('id', '=', id)
      .where('finished_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async claim(id: string, ownerId: string, now: number, until: number): Promise<boolean> {
    const result = await this.db
      .updateTable('uploads')
      .set({ claimed_until: until })
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .where('finished_at', 'is not', null)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async releaseClaim(id: string): Promise<void> {
    await this.db.updateTable('uploads').set({ claimed_until: null }).where('id', '=', id).where('consumed_at', 'is', null).execute();
  }

  async markConsumed(id: string, imageId: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('uploads')
      .set({ consumed_at: at, image_id: imageId, claimed_until: null })
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async deleteIdle(id: string, now: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('uploads')
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async deleteExpired(id: string, now: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('uploads')
      .where('id', '=', id)
      .where('expires_at', '<=', now)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async listExpired(now: number, limit: number): Promise<ResumableUpload[]> {
    const found = await this.db
      .selectFrom('uploads')
      .selectAll()
      .where('expires_at', '<=', now)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
      .orderBy('expires_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return found.map(rows.uploadFromRow);
  }

  async existingIds(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const found = await this.db.selectFrom('uploads').select('id').where(this.dialect.isIn('id', ids)).execute();
    return found.map((row) => row.id);
  }
}
