import type { Kysely } from 'kysely';
import type { Image } from '../../core/images/image.js';
import type { UploadLink } from '../../core/uploads/upload-link.js';
import type { UploadLinkRepository } from '../../ports/upload-repositories.js';
import * as imageRows from './row-mapping.js';
import type { Database } from './schema.js';
import * as rows from './upload-row-mapping.js';

/** Upload links over Kysely; looked up by the SHA-256 of their token. */
export class KyselyUploadLinkRepository implements UploadLinkRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(link: UploadLink): Promise<void> {
    await this.db.insertInto('upload_links').values(rows.uploadLinkToRow(link)).execute();
  }

  async findById(id: string): Promise<UploadLink | null> {
    const row = await this.db.selectFrom('upload_links').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? rows.uploadLinkFromRow(row) : null;
  }

  async findByTokenHash(tokenHash: string): Promise<UploadLink | null> {
    const row = await this.db.selectFrom('upload_links').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row ? rows.uploadLinkFromRow(row) : null;
  }

  async reserve(id: string, bytes: number, now: number): Promise<boolean> {
    // The caps are checked in the same statement that counts: no window between check and count.
    const result = await this.db
      .updateTable('upload_links')
      .set((eb) => ({
        used_bytes: eb('used_bytes', '+', bytes),
        used_images: eb('used_images', '+', 1),
      }))
      .where('id', '=', id)
      .where('expires_at', '>', now)
      .where((eb) => eb(eb('used_bytes', '+', bytes), '<=', eb.ref('max_bytes')))
      .where((eb) => eb(eb('used_images', '+', 1), '<=', eb.ref('max_images')))
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async release(id: string, bytes: number): Promise<void> {
    await this.db
      .updateTable('upload_links')
      .set((eb) => ({
        used_bytes: eb('used_bytes', '-', bytes),
        used_images: eb('used_images', '-', 1),
      }))
      .where('id', '=', id)
      .where('used_images', '>', 0)
      .execute();
  }

  async listImages(id: string, after: string | null, limit: number): Promise<Image[]> {
    let query = this.db
      .selectFrom('upload_links')
      .innerJoin('images', 'images.owner_id', 'upload_links.owner_id')
      .selectAll('images')
      .where('upload_links.id', '=', id);
    if (after !== null) query = query.where('images.id', '<', after);
    const found = await query.orderBy('images.id', 'desc').limit(limit).execute();
    return found.map(imageRows.imageFromRow);
  }
}
