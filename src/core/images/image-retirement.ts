import type { Repositories } from '../../ports/store-slice.js';
import type { NewEvent } from '../events/event.js';
import { type ImageDeletionReason, imageDeletedEvent } from './image-events.js';
import type { Image } from './image.js';

/**
 * Removes an image the system gave up on (its upload never completed, or its bytes vanished) with
 * everything that shows it: the posts of it (and their comments) and its collection memberships.
 * Run inside the caller's transaction; appends the events last, as the event log asks.
 * Returns whether the image row was still there.
 */
export async function retireImage(
  tx: Repositories<'events' | 'feed' | 'images' | 'posts'>,
  image: Image,
  reason: ImageDeletionReason,
  now: number,
): Promise<boolean> {
  const events: NewEvent[] = [];
  const posts = await tx.posts.findByImage(image.id);
  for (const post of posts) {
    if (await tx.posts.delete(post.id)) {
      events.push({ type: 'PostDeleted', actorId: null, subjectId: post.id, payload: { commentCount: post.commentCount, reason } });
    }
  }
  if (events.length > 0) await tx.feed.bump();
  const deleted = await tx.images.delete(image.id, now);
  if (deleted) events.push(imageDeletedEvent(image, null, reason));
  await tx.events.append(...events);
  return deleted;
}
