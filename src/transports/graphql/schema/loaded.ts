import type { Image } from '../../../core/images/image.js';
import type { VisiblePhotoFacts } from '../../../core/images/image-visibility.js';
import type { PublicUser } from '../../../core/users/user.js';
import type { GraphqlContext } from '../context.js';
import type { ImageShape } from './builder.js';

/** The whole image behind an embedded one, from the batched loader (it exists: posts reference it). */
export async function wholeImage(image: ImageShape, { loaders }: GraphqlContext): Promise<Image> {
  if ('format' in image) return image;
  const found = await loaders.images.load(image.id);
  if (!found) throw new Error(`image ${image.id} of a post is missing`);
  return found;
}

/**
 * What the viewer may see of the image's EXIF facts: decided by the core's one rule
 * (imageAsSeenBy), which every image the loaders return has been through.
 */
export async function visibleFacts(image: ImageShape, { loaders }: GraphqlContext): Promise<VisiblePhotoFacts> {
  if ('visible' in image) return image.visible;
  const found = await loaders.images.load(image.id);
  if (!found) throw new Error(`image ${image.id} is missing`);
  return found.visible;
}

/** A user another row points at, from the batched loader (it exists: the reference is a foreign key). */
export async function referencedUser(userId: string, { loaders }: GraphqlContext): Promise<PublicUser> {
  const user = await loaders.users.load(userId);
  if (!user) throw new Error(`owner ${userId} is missing`);
  return user;
}
