import type { BlobStore } from '../../ports/blob-store.js';
import type { MetadataStore } from '../../ports/metadata-store.js';
import { AppError } from '../errors.js';
import type { User } from '../users/user.js';
import { derivativeEtag, derivativeKey } from './blob-keys.js';
import type { Image } from './image.js';
import { imageAsSeenBy, type SeenImage } from './image-visibility.js';
import { imageDeletedEvent } from './image-events.js';
import type { IncompleteUploadRepair } from './incomplete-upload-repair.js';

/** The servable form of an image's pixels. */
export interface Derivative {
  bytes: Buffer;
  etag: string;
}

/** Reading and deleting images, with the ownership rules in one place for REST and GraphQL. */
export class ImageService {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly repair: IncompleteUploadRepair,
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
