import type { Kysely } from 'kysely';
import { AppError } from '../../core/errors.js';
import type { Image, ImageSharing, PhotoMetadata } from '../../core/images/image.js';
import type { ImageRepository } from '../../ports/metadata-store.js';
import { writtenForLiveAccount } from './gone-account.js';
import type { MetadataDialect } from './metadata-dialect.js';
import * as rows from './row-mapping.js';
import type { Database } from './schema.js';

// Both databases bind a limited number of parameters per statement.
const hashesPerQuery = 1000;

/** Images over Kysely; one row per owner and blob. */
export class KyselyImageRepository implements ImageRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async insertOrGetExisting(image: Image): Promise<{ image: Image; created: boolean }> {
    // Two statements (the row, its blob record): called on the store, they get a transaction of their own.
    if (!this.db.isTransaction) return this.db.transaction().execute((tx) => new KyselyImageRepository(tx, this.dialect).insertOrGetExisting(image));
    // ON CONFLICT waits for a concurrent insert of the same (owner, sha256) to commit, so exactly
    // one row wins and the losers read it. Retried in case the winner is deleted in between.
    for (let attempt = 1; ; attempt++) {
      const inserted = await writtenForLiveAccount(this.dialect, () =>
        this.db
          .insertInto('images')
          .values(rows.imageToRow(image))
          .onConflict((oc) => oc.columns(['owner_id', 'sha256']).doNothing())
          .returningAll()
          .executeTakeFirst(),
      );
      if (inserted) {
        await this.recordReferencedBlob(image);
        return { image: rows.imageFromRow(inserted), created: true };
      }
      const existing = await this.findByOwnerAndHash(image.ownerId, image.sha256);
      if (existing) return { image: existing, created: false };
      if (attempt === 3) throw new Error(`images: (owner, sha256) conflicts, no row: ${image.id}`);
    }
  }

  async findById(id: string): Promise<Image | null> {
    const row = await this.db.selectFrom('images').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? rows.imageFromRow(row) : null;
  }

  async findByIds(ids: readonly string[]): Promise<Image[]> {
    if (ids.length === 0) return [];
    const found = await this.db.selectFrom('images').selectAll().where(this.dialect.isIn('id', ids)).execute();
    return found.map(rows.imageFromRow);
  }

  async listByOwner(ownerId: string, after: string | null, limit: number): Promise<Image[]> {
    const found = await this.db
      .selectFrom('images')
      .selectAll()
      .where('owner_id', '=', ownerId)
      // Keyset along images(owner_id, id): a deep page costs the same as the first.
      .$if(after !== null, (query) => query.where('id', '<', after as string))
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return found.map(rows.imageFromRow);
  }

  async deleteByOwner(ownerId: string, now: number): Promise<number> {
    if (!this.db.isTransaction) return this.db.transaction().execute((tx) => new KyselyImageRepository(tx, this.dialect).deleteByOwner(ownerId, now));
    let deleted;
    try {
      deleted = await this.db.deleteFrom('images').where('owner_id', '=', ownerId).returning('sha256').execute();
    } catch (error) {
      if (this.dialect.isForeignKeyViolation(error)) throw new AppError('IMAGE_IN_USE', 'A post shows one of these images: delete the posts first');
      throw error;
    }
    const hashes = [...new Set(deleted.map((row) => row.sha256))];
    // As in `delete`: a blob whose last reference went may be collected after its grace.
    for (let start = 0; start < hashes.length; start += hashesPerQuery) {
      await this.db
        .updateTable('blob_records')
        .set({ unreferenced_since: now })
        .where(this.dialect.isIn('sha256', hashes.slice(start, start + hashesPerQuery)))
        .where('unreferenced_since', 'is', null)
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('images').select('images.id').whereRef('images.sha256', '=', 'blob_records.sha256'))))
        .execute();
    }
    return deleted.length;
  }

  async findByOwnerAndHash(ownerId: string, sha256: string): Promise<Image | null> {
    const row = await this.db.selectFrom('images').selectAll().where('owner_id', '=', ownerId).where('sha256', '=', sha256).executeTakeFirst();
    return row ? rows.imageFromRow(row) : null;
  }

  async delete(id: string, now: number = Date.now()): Promise<boolean> {
    if (!this.db.isTransaction) return this.db.transaction().execute((tx) => new KyselyImageRepository(tx, this.dialect).delete(id, now));
    let deleted;
    try {
      deleted = await this.db.deleteFrom('images').where('id', '=', id).returning('sha256').executeTakeFirst();
    } catch (error) {
      // A post created concurrently (after the caller's check) still shows the image: on
      // PostgreSQL the FK check catches it at delete time. That is the caller's 409, not a 500.
      if (this.dialect.isForeignKeyViolation(error)) throw new AppError('IMAGE_IN_USE', 'A post shows this image: delete the post first');
      throw error;
    }
    if (!deleted) return false;
    // The last reference gone: garbage collection may take the blob after its grace. Two deletes
    // racing on PostgreSQL can each still see the other's row; collection's own scan marks those.
    await this.db
      .updateTable('blob_records')
      .set({ unreferenced_since: now })
      .where('sha256', '=', deleted.sha256)
      .where('unreferenced_since', 'is', null)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('images').select('images.id').whereRef('images.sha256', '=', 'blob_records.sha256'))))
      .execute();
    return true;
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

  async markFailed(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('images')
      .set({ status: 'failed' })
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

  async findByHash(sha256: string): Promise<Image[]> {
    const found = await this.db.selectFrom('images').selectAll().where('sha256', '=', sha256).orderBy('id').execute();
    return found.map(rows.imageFromRow);
  }

  async setMetadata(id: string, metadata: PhotoMetadata, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('images')
      .set({
        camera_make: metadata.cameraMake,
        camera_model: metadata.cameraModel,
        taken_at: metadata.takenAt,
        has_gps: metadata.hasGps ? 1 : 0,
        gps_latitude: metadata.gpsLatitude,
        gps_longitude: metadata.gpsLongitude,
        metadata_extracted_at: at,
      })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async setSharing(id: string, sharing: ImageSharing): Promise<Image | null> {
    const changes = {
      ...(sharing.location === undefined ? {} : { share_location: sharing.location ? 1 : 0 }),
      ...(sharing.takenAt === undefined ? {} : { share_taken_at: sharing.takenAt ? 1 : 0 }),
    };
    if (Object.keys(changes).length === 0) return this.findById(id);
    const row = await this.db.updateTable('images').set(changes).where('id', '=', id).returningAll().executeTakeFirst();
    return row ? rows.imageFromRow(row) : null;
  }

  async listIncomplete(createdBefore: number, after: string | null, limit: number): Promise<Image[]> {
    // images_incomplete narrows to the few rows without a completion; those are sorted by id.
    let query = this.db
      .selectFrom('images')
      .selectAll()
      .where('upload_completed_at', 'is', null)
      .where('created_at', '<', createdBefore)
      .orderBy('id')
      .limit(limit);
    if (after !== null) query = query.where('id', '>', after);
    const found = await query.execute();
    return found.map(rows.imageFromRow);
  }

  async listIds(after: string | null, limit: number): Promise<string[]> {
    let query = this.db.selectFrom('images').select('id').orderBy('id').limit(limit);
    if (after !== null) query = query.where('id', '>', after);
    return (await query.execute()).map((row) => row.id);
  }

  /** A new image references its blob, whose bytes ingest has just made sure of. */
  private async recordReferencedBlob(image: Image): Promise<void> {
    await this.db
      .insertInto('blob_records')
      .values({
        sha256: image.sha256,
        size: image.size,
        state: 'live',
        created_at: image.createdAt,
        unreferenced_since: null,
        missing_since: null,
        state_changed_at: image.createdAt,
      })
      .onConflict((oc) => oc.column('sha256').doUpdateSet({ unreferenced_since: null, missing_since: null }))
      .execute();
  }
}
