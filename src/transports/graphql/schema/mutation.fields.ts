import { namedImageSource } from '../../../core/images/image-source.js';
import { builder } from './builder.js';
import { commentNode, postNode } from './nodes.js';

/** Every write REST has, plus collections. Each resolves the viewer and calls one service or command. */
builder.mutationType({
  fields: (t) => ({
    uploadImage: t.field({
      type: 'UploadImagePayload',
      description: 'Uploads an image (multipart request; send an Apollo-Require-Preflight or x-graphql-csrf header).',
      args: { file: t.arg({ type: 'Upload', required: true }) },
      resolve: async (_root, { file }, { services, requireViewer }) => {
        const viewer = await requireViewer();
        // Streamed into staging as it arrives, never buffered; an unread file is drained by uploads.ts.
        return services.uploadImage.fromStream(viewer.id, (await file).createReadStream());
      },
    }),
    deleteImage: t.boolean({
      description: 'Deletes your image; it leaves every collection it was in. IMAGE_IN_USE while a post shows it.',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, { id }, { services, requireViewer }) => {
        await services.images.delete(id, await requireViewer());
        return true;
      },
    }),
    setImageSharing: t.field({
      type: 'Image',
      description:
        "Chooses whether everyone else sees where (shareLocation: hasGps, gps) and when (shareTakenAt) your photo was taken; an argument left out stays as it was. FORBIDDEN for someone else's image.",
      args: { id: t.arg.id({ required: true }), shareLocation: t.arg.boolean(), shareTakenAt: t.arg.boolean() },
      resolve: async (_root, { id, shareLocation, shareTakenAt }, { services, requireViewer }) =>
        services.images.setSharing(id, await requireViewer(), { location: shareLocation ?? undefined, takenAt: shareTakenAt ?? undefined }),
    }),

    createCollection: t.field({
      type: 'Collection',
      args: { name: t.arg.string({ required: true }) },
      resolve: async (_root, { name }, { services, requireViewer }) => services.collections.create(await requireViewer(), name),
    }),
    renameCollection: t.field({
      type: 'Collection',
      args: { id: t.arg.id({ required: true }), name: t.arg.string({ required: true }) },
      resolve: async (_root, { id, name }, { services, requireViewer }) => services.collections.rename(await requireViewer(), id, name),
    }),
    deleteCollection: t.boolean({
      description: 'Deletes your collection, not the images in it.',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, { id }, { services, requireViewer }) => {
        await services.collections.delete(await requireViewer(), id);
        return true;
      },
    }),
    addImagesToCollection: t.field({
      type: 'Collection',
      description: 'Adds your images (1–100 ids) to your collection; images already in it are left as they are.',
      args: { collectionId: t.arg.id({ required: true }), imageIds: t.arg.idList({ required: true }) },
      resolve: async (_root, { collectionId, imageIds }, { services, requireViewer }) =>
        services.collections.addImages(await requireViewer(), collectionId, imageIds),
    }),
    removeImagesFromCollection: t.field({
      type: 'Collection',
      description: 'Removes images (1–100 ids) from your collection; ids not in it are ignored.',
      args: { collectionId: t.arg.id({ required: true }), imageIds: t.arg.idList({ required: true }) },
      resolve: async (_root, { collectionId, imageIds }, { services, requireViewer }) =>
        services.collections.removeImages(await requireViewer(), collectionId, imageIds),
    }),

    createPost: t.field({
      type: 'Post',
      description: [
        'Publishes a caption with exactly one of: imageId (an image of yours) or uploadId (a finished',
        'resumable upload of yours, used up by this post). A retry with the same idempotencyKey and',
        'arguments returns the first post instead of creating another (see Idempotency-Key in docs/api.md).',
      ].join('\n'),
      args: { caption: t.arg.string({ required: true }), imageId: t.arg.id(), uploadId: t.arg.id(), idempotencyKey: t.arg.string() },
      resolve: async (_root, { caption, imageId, uploadId, idempotencyKey }, { services, requireViewer }) => {
        const viewer = await requireViewer();
        return postNode((await services.createPost.run(viewer, { caption, image: namedImageSource(imageId, uploadId) }, idempotencyKey)).post);
      },
    }),
    updatePostCaption: t.field({
      type: 'Post',
      description: "Replaces your post's caption (0–2,200 characters); FORBIDDEN for someone else's.",
      args: { id: t.arg.id({ required: true }), caption: t.arg.string({ required: true }) },
      resolve: async (_root, { id, caption }, { services, requireViewer }) => postNode(await services.posts.editCaption(id, await requireViewer(), caption)),
    }),
    deletePost: t.boolean({
      description: 'Deletes your post and its comments.',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, { id }, { services, requireViewer }) => {
        await services.posts.delete(id, await requireViewer());
        return true;
      },
    }),
    addComment: t.field({
      type: 'Comment',
      description: 'Comments on a post; idempotencyKey works as for createPost.',
      args: { postId: t.arg.id({ required: true }), body: t.arg.string({ required: true }), idempotencyKey: t.arg.string() },
      resolve: async (_root, { postId, body, idempotencyKey }, { services, requireViewer }) =>
        commentNode((await services.addComment.run(await requireViewer(), { postId, body }, idempotencyKey)).comment),
    }),
    changePassword: t.boolean({
      description: 'Changes your password (WRONG_PASSWORD if currentPassword is wrong); every other session of yours ends, this one stays.',
      args: { currentPassword: t.arg.string({ required: true }), newPassword: t.arg.string({ required: true }) },
      resolve: async (_root, { currentPassword, newPassword }, { services, requireViewer, sessionToken }) => {
        await services.accounts.changePassword(await requireViewer(), sessionToken(), currentPassword, newPassword);
        return true;
      },
    }),
    deleteAccount: t.boolean({
      description:
        'Deletes your account with its posts, comments, collections and images (bytes go with garbage collection); WRONG_PASSWORD if password is wrong.',
      args: { password: t.arg.string({ required: true }) },
      resolve: async (_root, { password }, { services, requireViewer }) => {
        await services.accounts.deleteAccount(await requireViewer(), password);
        return true;
      },
    }),
    deleteComment: t.boolean({
      description: "Deletes your comment; FORBIDDEN for someone else's.",
      args: { postId: t.arg.id({ required: true }), commentId: t.arg.id({ required: true }) },
      resolve: async (_root, { postId, commentId }, { services, requireViewer }) => {
        await services.comments.delete(await requireViewer(), postId, commentId);
        return true;
      },
    }),
  }),
});
