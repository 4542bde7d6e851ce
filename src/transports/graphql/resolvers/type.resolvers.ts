import type { Collection } from '../../../core/collections/collection.js';
import type { Image } from '../../../core/images/image.js';
import type { CommentView, PostView } from '../../../core/posts/post.js';
import { imageUrl } from '../../rest/presenters.js';
import type { GraphqlContext } from '../context.js';
import { connectionOf, iso } from './connections.js';

/** A user as embedded in a post or comment (a byline) or loaded whole. */
type UserParent = { id: string; username: string; createdAt?: number };
/** An image as embedded in a post view (id, hash and size only) or loaded whole. */
type ImageParent = Image | PostView['image'];

/** The whole image behind an embedded one, from the batched loader (it exists: posts reference it). */
async function wholeImage(image: ImageParent, { loaders }: GraphqlContext): Promise<Image> {
  if ('format' in image) return image;
  const found = await loaders.images.load(image.id);
  if (!found) throw new Error(`image ${image.id} of a post is missing`);
  return found;
}

async function owner(ownerId: string, { loaders }: GraphqlContext): Promise<UserParent> {
  const user = await loaders.users.load(ownerId);
  if (!user) throw new Error(`owner ${ownerId} is missing`);
  return user;
}

/**
 * Field resolvers. Post views already carry author, image and last comments (one query for a whole
 * page, see PostRepository.findViews); everything else comes through the per-request loaders.
 */
export const typeResolvers = {
  User: {
    createdAt: async (user: UserParent, _args: unknown, context: GraphqlContext) =>
      iso(user.createdAt ?? (await owner(user.id, context)).createdAt!),
  },
  Image: {
    hash: (image: ImageParent) => image.sha256,
    url: (image: ImageParent) => imageUrl(image),
    format: async (image: ImageParent, _args: unknown, context: GraphqlContext) => (await wholeImage(image, context)).format,
    size: async (image: ImageParent, _args: unknown, context: GraphqlContext) => (await wholeImage(image, context)).size,
    createdAt: async (image: ImageParent, _args: unknown, context: GraphqlContext) => iso((await wholeImage(image, context)).createdAt),
    owner: async (image: ImageParent, _args: unknown, context: GraphqlContext) => owner((await wholeImage(image, context)).ownerId, context),
    collections: (image: ImageParent, _args: unknown, { loaders }: GraphqlContext) => loaders.collectionsOfImage.load(image.id),
  },
  Collection: {
    createdAt: (collection: Collection) => iso(collection.createdAt),
    owner: (collection: Collection, _args: unknown, context: GraphqlContext) => owner(collection.ownerId, context),
    images: (collection: Collection, _args: unknown, { loaders }: GraphqlContext) => loaders.imagesOfCollection.load(collection.id),
  },
  Post: {
    createdAt: (post: PostView) => iso(post.createdAt),
    comments: async (post: PostView, { first, after }: { first: number; after?: string | null }, { services, loaders }: GraphqlContext) => {
      // A first page for many posts is one query; paging further is one post at a time.
      const page = after ? await services.comments.list(post.id, after, first) : await loaders.firstComments.load({ postId: post.id, first });
      return connectionOf(page.comments, page.nextCursor, (comment) => services.comments.cursorOf(comment));
    },
  },
  Comment: {
    createdAt: (comment: CommentView) => iso(comment.createdAt),
  },
};
