import { AppError } from '../../../core/errors.js';
import { fingerprintOf, type IdempotencyClaim, parseIdempotencyKey } from '../../../core/idempotency/idempotent-writes.js';
import type { User } from '../../../core/users/user.js';
import type { GraphqlContext } from '../context.js';
import type { FileUpload } from '../uploads.js';

/** An idempotency claim, fingerprinted exactly as REST does, so a key replays across both APIs. */
function claimOf(viewer: User, key: string | null | undefined, ...request: string[]): IdempotencyClaim | null {
  const parsed = parseIdempotencyKey(key ?? undefined);
  return parsed ? { userId: viewer.id, key: parsed, fingerprint: fingerprintOf(...request) } : null;
}

/** Every write REST has, plus collections. Each resolves the viewer and calls one service. */
export const mutationResolvers = {
  uploadImage: async (_root: unknown, { file }: { file: Promise<FileUpload> }, { services, requireViewer }: GraphqlContext) => {
    const viewer = await requireViewer();
    // Streamed into staging as it arrives, never buffered; an unread file is drained by uploads.ts.
    const staged = await services.ingest.stage((await file).createReadStream());
    try {
      return await services.ingest.ingestStaged(viewer.id, staged);
    } finally {
      await staged.discard();
    }
  },
  deleteImage: async (_root: unknown, { id }: { id: string }, { services, requireViewer }: GraphqlContext) => {
    await services.images.delete(id, await requireViewer());
    return true;
  },

  createCollection: async (_root: unknown, { name }: { name: string }, { services, requireViewer }: GraphqlContext) =>
    services.collections.create(await requireViewer(), name),
  renameCollection: async (_root: unknown, { id, name }: { id: string; name: string }, { services, requireViewer }: GraphqlContext) =>
    services.collections.rename(await requireViewer(), id, name),
  deleteCollection: async (_root: unknown, { id }: { id: string }, { services, requireViewer }: GraphqlContext) => {
    await services.collections.delete(await requireViewer(), id);
    return true;
  },
  addImagesToCollection: async (_root: unknown, args: { collectionId: string; imageIds: string[] }, { services, requireViewer }: GraphqlContext) =>
    services.collections.addImages(await requireViewer(), args.collectionId, args.imageIds),
  removeImagesFromCollection: async (_root: unknown, args: { collectionId: string; imageIds: string[] }, { services, requireViewer }: GraphqlContext) =>
    services.collections.removeImages(await requireViewer(), args.collectionId, args.imageIds),

  createPost: async (
    _root: unknown,
    args: { caption: string; imageId?: string | null; uploadId?: string | null; idempotencyKey?: string | null },
    { services, requireViewer }: GraphqlContext,
  ) => {
    const viewer = await requireViewer();
    const { caption, imageId, uploadId } = args;
    if (!imageId === !uploadId) throw new AppError('VALIDATION_FAILED', 'Name the image with exactly one of imageId and uploadId');
    if (uploadId) {
      // Consumed inside the idempotent run, as REST does: a replayed retry does not touch it again.
      const fromUpload = async () => (await services.uploads.consume(viewer.id, uploadId)).image.id;
      const claim = claimOf(viewer, args.idempotencyKey, 'post', caption, 'upload', uploadId);
      return (await services.posts.create(viewer, { caption, imageId: fromUpload }, claim)).post;
    }
    const claim = claimOf(viewer, args.idempotencyKey, 'post', caption, 'image', imageId!);
    return (await services.posts.create(viewer, { caption, imageId: imageId! }, claim)).post;
  },
  deletePost: async (_root: unknown, { id }: { id: string }, { services, requireViewer }: GraphqlContext) => {
    await services.posts.delete(id, await requireViewer());
    return true;
  },
  addComment: async (_root: unknown, args: { postId: string; body: string; idempotencyKey?: string | null }, { services, requireViewer }: GraphqlContext) => {
    const viewer = await requireViewer();
    const claim = claimOf(viewer, args.idempotencyKey, 'comment', args.postId, args.body);
    return (await services.comments.add(viewer, args.postId, args.body, claim)).comment;
  },
  deleteComment: async (_root: unknown, args: { postId: string; commentId: string }, { services, requireViewer }: GraphqlContext) => {
    await services.comments.delete(await requireViewer(), args.postId, args.commentId);
    return true;
  },
};
