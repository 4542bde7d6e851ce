import type { NewEvent } from '../events/event.js';
import type { Image } from './image.js';

/** Why an image row went away, recorded in its `ImageDeleted` event. */
export type ImageDeletionReason = 'deleted-by-owner' | 'account-deleted' | 'upload-never-completed' | 'blob-missing';

/**
 * The `ImageDeleted` event of `image`. Every path that deletes images builds it here: the stats
 * projection takes the format, creation day and camera model it counted back out of this payload.
 */
export function imageDeletedEvent(image: Image, actorId: string | null, reason: ImageDeletionReason): NewEvent {
  return {
    type: 'ImageDeleted',
    actorId,
    subjectId: image.id,
    payload: { sha256: image.sha256, format: image.format, createdAt: image.createdAt, cameraModel: image.cameraModel, reason },
  };
}

/** The `ImageCreated` event of a freshly inserted `image`. */
export function imageCreatedEvent(image: Image): NewEvent {
  return {
    type: 'ImageCreated',
    actorId: image.ownerId,
    subjectId: image.id,
    payload: { sha256: image.sha256, format: image.format, size: image.size, createdAt: image.createdAt },
  };
}
