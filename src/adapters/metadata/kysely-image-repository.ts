import type { Kysely } from 'kysely';
import { AppError } from '../../core/errors.js';
import type { Image } from '../../core/images/image.js';
import type { ImageRepository } from '../../ports/metadata-store.js';
import type { MetadataDialect } from './metadata-dialect.js';
import * as rows from './row-mapping.js';
import type { Database } from './schema.js';

/** Images over Kysely; one row per owner and blob. */
export class KyselyImageRepository implements ImageRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

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

  async findByIds(ids: readonly string[]): Promise<Image[]> {
    if (ids.length === 0) return [];
    const found = await this.db.selectFrom('images').selectAll().where(this.dialect.isIn('id', ids)).execute();
    return found.map(rows.imageFromRow);
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
    try {
      const result = await this.db.deleteFrom('images').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    } catch (error) {
      // A post created concurrently (after the caller's check) still shows the image: on
      // PostgreSQL the FK check catches it at delete time. That is the caller's 409, not a 500.
      if (this.dialect.isForeignKeyViolation(error)) throw new AppError('IMAGE_IN_USE', 'A post shows this image: delete the post first');
      throw error;
    }
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
