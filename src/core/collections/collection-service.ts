import type { Repositories, StoreSlice } from '../../ports/store-slice.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import type { ImageService } from '../images/image-service.js';
import type { SeenImage } from '../images/image-visibility.js';
import type { OpaqueCursor } from '../posts/opaque-cursor.js';
import { assertPageLimit } from '../posts/post-rules.js';
import type { User } from '../users/user.js';
import { assertValidCollectionName, type Collection, type CollectionChange, distinctImageIds } from './collection.js';

export interface CollectionServiceOptions {
  now?: () => number;
}

/** A page of the viewer's collections, newest first. */
export interface CollectionPage {
  collections: Collection[];
  nextCursor: string | null;
}

/**
 * Collections: named sets of one user's images. Only the owner changes a collection, and
 * only with images they own; every change and its `CollectionChanged` event commit together.
 * Collections are public to read, like the images in them.
 */
export class CollectionService {
  private readonly now: () => number;

  constructor(
    private readonly store: StoreSlice<'collections' | 'events' | 'images'>,
    private readonly images: ImageService,
    private readonly cursors: OpaqueCursor,
    options: CollectionServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Creates an empty collection. Throws VALIDATION_FAILED. */
  async create(owner: User, name: string): Promise<Collection> {
    assertValidCollectionName(name);
    const collection: Collection = { id: newId(), ownerId: owner.id, name, createdAt: this.now() };
    await this.store.transaction(async (tx) => {
      await tx.collections.insert(collection);
      await changed(tx, owner, collection.id, 'created', { name });
    });
    return collection;
  }

  /** Throws VALIDATION_FAILED, COLLECTION_NOT_FOUND, NOT_OWNER. */
  async rename(actor: User, id: string, name: string): Promise<Collection> {
    assertValidCollectionName(name);
    return this.store.transaction(async (tx) => {
      const collection = await ownedCollection(tx, actor, id);
      await tx.collections.rename(id, name);
      await changed(tx, actor, id, 'renamed', { name });
      return { ...collection, name };
    });
  }

  /** Deletes the collection, not its images. Throws COLLECTION_NOT_FOUND, NOT_OWNER. */
  async delete(actor: User, id: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      await ownedCollection(tx, actor, id);
      if (!(await tx.collections.delete(id))) throw notFound(id);
      await changed(tx, actor, id, 'deleted', {});
    });
  }

  /**
   * Adds the actor's images; images already in the collection are skipped (a set). Throws
   * VALIDATION_FAILED (0 or over 100 ids), COLLECTION_NOT_FOUND, IMAGE_NOT_FOUND, NOT_OWNER.
   */
  async addImages(actor: User, id: string, imageIds: readonly string[]): Promise<Collection> {
    const ids = distinctImageIds(imageIds);
    return this.store.transaction(async (tx) => {
      const collection = await ownedCollection(tx, actor, id);
      const found = new Map((await tx.images.findByIds(ids)).map((image) => [image.id, image]));
      for (const imageId of ids) {
        const image = found.get(imageId);
        if (!image) throw new AppError('IMAGE_NOT_FOUND', `No image with id ${imageId}`);
        if (image.ownerId !== actor.id) throw new AppError('NOT_OWNER', `Image ${imageId} is not yours`);
      }
      const added = await tx.collections.addImages(id, ids, this.now());
      if (added.length > 0) await changed(tx, actor, id, 'imagesAdded', { imageIds: added.sort() });
      return collection;
    });
  }

  /** Removes images; ids not in the collection are ignored (a set). Throws VALIDATION_FAILED, COLLECTION_NOT_FOUND, NOT_OWNER. */
  async removeImages(actor: User, id: string, imageIds: readonly string[]): Promise<Collection> {
    const ids = distinctImageIds(imageIds);
    return this.store.transaction(async (tx) => {
      const collection = await ownedCollection(tx, actor, id);
      const removed = await tx.collections.removeImages(id, ids);
      if (removed.length > 0) await changed(tx, actor, id, 'imagesRemoved', { imageIds: removed.sort() });
      return collection;
    });
  }

  /** Throws COLLECTION_NOT_FOUND. */
  async get(id: string): Promise<Collection> {
    const collection = await this.store.collections.findById(id);
    if (!collection) throw notFound(id);
    return collection;
  }

  /** The collections with those ids, in that order, missing ones left out. */
  async getMany(ids: readonly string[]): Promise<Collection[]> {
    const byId = new Map((await this.store.collections.findByIds(ids)).map((c) => [c.id, c]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** The viewer's collections, newest first, in pages of `limit` (1–100). Throws VALIDATION_FAILED, INVALID_CURSOR. */
  async listMine(viewer: User, cursor: string | null, limit: number): Promise<CollectionPage> {
    assertPageLimit(limit);
    const after = cursor === null ? null : collectionPosition(this.cursors.decode('collections', cursor), viewer.id);
    const found = await this.store.collections.listByOwner(viewer.id, after, limit + 1);
    const collections = found.slice(0, limit);
    const last = collections.at(-1);
    return { collections, nextCursor: found.length > limit && last ? this.cursorOf(last) : null };
  }

  /** The cursor that continues a listing right after `collection`. */
  cursorOf(collection: Collection): string {
    return this.cursors.encode('collections', { ownerId: collection.ownerId, id: collection.id });
  }

  /** Each collection's images as `viewer` may see them (see ImageService.get), newest first; one query for all. */
  async imagesOf(collectionIds: readonly string[], viewer: User | null): Promise<Map<string, SeenImage[]>> {
    const byCollection = new Map<string, SeenImage[]>(collectionIds.map((id) => [id, []]));
    for (const { collectionId, image } of await this.store.collections.imagesIn(collectionIds)) {
      byCollection.get(collectionId)?.push(this.images.asSeenBy(image, viewer));
    }
    return byCollection;
  }

  /** The collections each image is in, newest first; one query for all. */
  async collectionsOf(imageIds: readonly string[]): Promise<Map<string, Collection[]>> {
    const byImage = new Map<string, Collection[]>(imageIds.map((id) => [id, []]));
    for (const { imageId, collection } of await this.store.collections.collectionsOf(imageIds)) byImage.get(imageId)?.push(collection);
    return byImage;
  }
}

/** The collection, if `actor` owns it. Throws COLLECTION_NOT_FOUND, NOT_OWNER. */
async function ownedCollection(tx: Repositories<'collections'>, actor: User, id: string): Promise<Collection> {
  const collection = await tx.collections.findById(id);
  if (!collection) throw notFound(id);
  if (collection.ownerId !== actor.id) throw new AppError('NOT_OWNER', 'Only the owner may change this collection');
  return collection;
}

function changed(tx: Repositories<'collections' | 'events'>, actor: User, id: string, change: CollectionChange, details: Record<string, unknown>) {
  return tx.events.append({ type: 'CollectionChanged', actorId: actor.id, subjectId: id, payload: { change, ...details } });
}

function notFound(id: string): AppError {
  return new AppError('COLLECTION_NOT_FOUND', `No collection with id ${id}`);
}

/** The collection id a cursor points after; it must come from the same viewer's listing. */
function collectionPosition(value: unknown, ownerId: string): string {
  const position = value as { ownerId?: unknown; id?: unknown } | null;
  if (typeof position?.id !== 'string' || position.ownerId !== ownerId) throw new AppError('INVALID_CURSOR', 'The cursor belongs to another listing');
  return position.id;
}
