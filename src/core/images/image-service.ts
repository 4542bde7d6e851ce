import type { BlobStore } from '../../ports/blob-store.js';
import type { StoreSlice } from '../../ports/store-slice.js';
import { AppError } from '../errors.js';
import type { User } from '../users/user.js';
import { derivativeEtag, derivativeKey } from './blob-keys.js';
import type { Image, ImageSharing } from './image.js';
import { imageAsSeenBy, type SeenImage } from './image-visibility.js';
import { imageDeletedEvent } from './image-events.js';
import type { IncompleteUploadRepair } from './incomplete-upload-repair.js';
import type { OpaqueCursor } from '../posts/opaque-cursor.js';
import { assertPageLimit } from '../posts/post-rules.js';

/** The servable form of an image's pixels. */
export interface Derivative {
  bytes: Buffer;
  etag: string;
}

/** One page of a user's images. */
export interface ImagePage {
  images: SeenImage[];
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

/** Reading, listing and deleting images, with the ownership rules in one place for REST and GraphQL. */
export class ImageService {
  constructor(
    private readonly store: StoreSlice<'events' | 'images' | 'posts'>,
    private readonly blobs: BlobStore,
    private readonly repair: IncompleteUploadRepair,
    private readonly cursors: OpaqueCursor,
  ) {}

  /**
   * The image's metadata as `viewer` may see it (see imageAsSeenBy).
   * An incomplete upload is read-repaired first (status `pending` while it may still complete).
   * Throws IMAGE_NOT_FOUND.
   */
  async get(id: string, viewer: User | null): Promise<SeenImage> {
    const image = await this.findRepaired(id);
    if (!image) throw new AppError('IMAGE_NOT_FOUND', `No image with id ${id}`);
    return this.asSeenBy(image, viewer);
  }

  /** The images with those ids as `viewer` may see them, in that order, missing ones left out; one query (plus read repair of incomplete ones). */
  async getMany(ids: readonly string[], viewer: User | null): Promise<SeenImage[]> {
    const found = await this.store.images.findByIds(ids);
    const repaired = await Promise.all(found.map(async (image) => (image.uploadCompletedAt === null ? (await this.repair.repair(image)).image : image)));
    const byId = new Map(repaired.flatMap((image) => (image ? [[image.id, image] as const] : [])));
    return ids.flatMap((id) => {
      const image = byId.get(id);
      return image ? [this.asSeenBy(image, viewer)] : [];
    });
  }

  /**
   * The viewer's own images, newest first, in pages of `limit` (1–100); incomplete uploads are
   * read-repaired like `getMany` (a retired one drops out of its page). Throws VALIDATION_FAILED,
   * INVALID_CURSOR (also for another listing's cursor).
   */
  async listMine(viewer: User, cursor: string | null, limit: number): Promise<ImagePage> {
    assertPageLimit(limit);
    const after = cursor === null ? null : ownerPosition(this.cursors.decode('images', cursor), viewer.id);
    const found = await this.store.images.listByOwner(viewer.id, after, limit + 1);
    const page = found.slice(0, limit);
    const last = page.at(-1);
    const nextCursor = found.length > limit && last ? this.cursorOf(last) : null;
    const repaired = await Promise.all(page.map(async (image) => (image.uploadCompletedAt === null ? (await this.repair.repair(image)).image : image)));
    return { images: repaired.flatMap((image) => (image ? [this.asSeenBy(image, viewer)] : [])), nextCursor };
  }

  /** The cursor that continues its owner's listing right after `image`. */
  cursorOf(image: Pick<Image, 'id' | 'ownerId'>): string {
    return this.cursors.encode('images', { ownerId: image.ownerId, id: image.id });
  }

  /** `image` as `viewer` may see it (see imageAsSeenBy, the one rule). */
  asSeenBy(image: Image, viewer: User | null): SeenImage {
    return imageAsSeenBy(image, viewer?.id ?? null);
  }

  /** The 600×600 JPEG. Throws IMAGE_NOT_FOUND, or IMAGE_NOT_READY while its upload is incomplete. */
  async derivative(id: string): Promise<Derivative> {
    const image = await this.findRepaired(id);
    if (!image) throw new AppError('IMAGE_NOT_FOUND', `No image with id ${id}`);
    if (image.status !== 'ready') throw new AppError('IMAGE_NOT_READY');
    const bytes = await this.blobs.get(derivativeKey(image.sha256));
    if (!bytes) throw new AppError('IMAGE_NOT_READY', 'The image has no rendering yet');
    return { bytes, etag: derivativeEtag(image.sha256) };
  }

  /**
   * The owner's choice of whether everyone else sees where (`location`) and when (`takenAt`) the
   * photo was taken; a field left out stays as it was. Returns the image as its owner sees it.
   * Throws VALIDATION_FAILED (nothing to change), IMAGE_NOT_FOUND, NOT_OWNER.
   */
  async setSharing(id: string, actor: User, sharing: ImageSharing): Promise<SeenImage> {
    if (sharing.location === undefined && sharing.takenAt === undefined) {
      throw new AppError('VALIDATION_FAILED', 'Say what to share: shareLocation and/or shareTakenAt, true or false');
    }
    const image = await this.store.transaction(async (tx) => {
      const found = await tx.images.findById(id);
      if (!found) throw new AppError('IMAGE_NOT_FOUND', `No image with id ${id}`);
      if (found.ownerId !== actor.id) throw new AppError('NOT_OWNER', 'Only the owner may choose what this image shares');
      return tx.images.setSharing(id, sharing);
    });
    if (!image) throw new AppError('IMAGE_NOT_FOUND', `No image with id ${id}`);
    return this.asSeenBy(image, actor);
  }

  /** Deletes an image row; its blob stays until garbage collection finds it unreferenced. Throws IMAGE_NOT_FOUND, NOT_OWNER. */
  async delete(id: string, actor: User): Promise<void> {
    await this.store.transaction(async (tx) => {
      const image = await tx.images.findById(id);
      if (!image) throw new AppError('IMAGE_NOT_FOUND', `No image with id ${id}`);
      if (image.ownerId !== actor.id) throw new AppError('NOT_OWNER', 'Only the owner may delete this image');
      if ((await tx.posts.countByImage(id)) > 0) throw new AppError('IMAGE_IN_USE', 'A post shows this image: delete the post first');
      await tx.images.delete(id);
      await tx.events.append(imageDeletedEvent(image, actor.id, 'deleted-by-owner'));
    });
  }

  /** The image, read-repaired when its upload is incomplete; null when absent or retired. */
  private async findRepaired(id: string): Promise<Image | null> {
    const image = await this.store.images.findById(id);
    if (!image || image.uploadCompletedAt !== null) return image;
    return (await this.repair.repair(image)).image;
  }
}

/** The image id a cursor of `ownerId`'s listing continues after. Throws INVALID_CURSOR. */
function ownerPosition(value: unknown, ownerId: string): string {
  const position = value as { ownerId?: unknown; id?: unknown } | null;
  if (typeof position?.id !== 'string' || position.ownerId !== ownerId) throw new AppError('INVALID_CURSOR', 'The cursor belongs to another listing');
  return position.id;
}
