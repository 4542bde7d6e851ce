import type { Kysely } from 'kysely';
import type { Collection } from '../../core/collections/collection.js';
import type { Image } from '../../core/images/image.js';
import type { CollectionRepository } from '../../ports/metadata-store.js';
import { collectionFromRow, collectionToRow } from './collection-row-mapping.js';
import { writtenForLiveAccount } from './gone-account.js';
import type { MetadataDialect } from './metadata-dialect.js';
import { imageFromRow } from './row-mapping.js';
import type { Database } from './schema.js';

/**
 * Collections over Kysely. Membership is the `collection_images` table, read from either side
 * (its primary key serves a collection's images, `collection_images_image_id` an image's
 * collections), each side of a whole batch in one query.
 */
export class KyselyCollectionRepository implements CollectionRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: MetadataDialect,
  ) {}

  async insert(collection: Collection): Promise<void> {
    await writtenForLiveAccount(this.dialect, () => this.db.insertInto('collections').values(collectionToRow(collection)).execute());
  }

  async findById(id: string): Promise<Collection | null> {
    const row = await this.db.selectFrom('collections').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? collectionFromRow(row) : null;
  }

  async findByIds(ids: readonly string[]): Promise<Collection[]> {
    if (ids.length === 0) return [];
    const found = await this.db.selectFrom('collections').selectAll().where(this.dialect.isIn('id', ids)).execute();
    return found.map(collectionFromRow);
  }

  async listByOwner(ownerId: string, after: string | null, limit: number): Promise<Collection[]> {
    const found = await this.db
      .selectFrom('collections')
      .selectAll()
      .where('owner_id', '=', ownerId)
      // Keyset, not offset: a deep page costs the same as the first.
      .$if(after !== null, (query) => query.where('id', '<', after as string))
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return found.map(collectionFromRow);
  }

  async rename(id: string, name: string): Promise<boolean> {
    const result = await this.db.updateTable('collections').set({ name }).where('id', '=', id).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async deleteByOwner(ownerId: string): Promise<number> {
    const result = await this.db.deleteFrom('collections').where('owner_id', '=', ownerId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async delete(id: string): Promise<boolean> {
    // Memberships go by ON DELETE CASCADE, in the same statement.
    const result = await this.db.deleteFrom('collections').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async addImages(collectionId: string, imageIds: readonly string[], addedAt: number): Promise<string[]> {
    if (imageIds.length === 0) return [];
    // DO NOTHING on the primary key: adding a member twice, even concurrently, is a no-op, and
    // RETURNING lists only the rows this statement inserted.
    const inserted = await this.db
      .insertInto('collection_images')
      .values(imageIds.map((imageId) => ({ collection_id: collectionId, image_id: imageId, added_at: addedAt })))
      .onConflict((oc) => oc.columns(['collection_id', 'image_id']).doNothing())
      .returning('image_id')
      .execute();
    return inserted.map((row) => row.image_id);
  }

  async removeImages(collectionId: string, imageIds: readonly string[]): Promise<string[]> {
    if (imageIds.length === 0) return [];
    const deleted = await this.db
      .deleteFrom('collection_images')
      .where('collection_id', '=', collectionId)
      .where(this.dialect.isIn('image_id', imageIds))
      .returning('image_id')
      .execute();
    return deleted.map((row) => row.image_id);
  }

  async imagesIn(collectionIds: readonly string[]): Promise<{ collectionId: string; image: Image }[]> {
    if (collectionIds.length === 0) return [];
    const found = await this.db
      .selectFrom('collection_images as ci')
      .innerJoin('images as i', 'i.id', 'ci.image_id')
      .selectAll('i')
      .select('ci.collection_id')
      .where(this.dialect.isIn('ci.collection_id', collectionIds))
      .orderBy('ci.image_id', 'desc')
      .execute();
    return found.map(({ collection_id, ...image }) => ({ collectionId: collection_id, image: imageFromRow(image) }));
  }

  async collectionsOf(imageIds: readonly string[]): Promise<{ imageId: string; collection: Collection }[]> {
    if (imageIds.length === 0) return [];
    const found = await this.db
      .selectFrom('collection_images as ci')
      .innerJoin('collections as c', 'c.id', 'ci.collection_id')
      .selectAll('c')
      .select('ci.image_id')
      .where(this.dialect.isIn('ci.image_id', imageIds))
      .orderBy('ci.collection_id', 'desc')
      .execute();
    return found.map(({ image_id, ...collection }) => ({ imageId: image_id, collection: collectionFromRow(collection) }));
  }
}
