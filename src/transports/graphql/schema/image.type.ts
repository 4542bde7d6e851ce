import { imageUrl } from '../../rest/presenters.js';
import { builder } from './builder.js';
import { iso } from './connections.js';
import { referencedUser, visibleFacts, wholeImage } from './loaded.js';

// A post view embeds its image's id, hash and dimensions; other fields load the whole image, batched.
builder.objectType('Image', {
  fields: (t) => ({
    id: t.exposeID('id'),
    hash: t.string({ description: "SHA-256 of the original's bytes, lower-case hex.", resolve: (image) => image.sha256 }),
    format: t.string({
      description: 'Format of the original: png, jpeg, bmp, webp, gif, tiff or avif.',
      resolve: async (image, _args, context) => (await wholeImage(image, context)).format,
    }),
    width: t.exposeInt('width', { description: 'Of the original.' }),
    height: t.exposeInt('height'),
    size: t.int({ description: 'Bytes of the original.', resolve: async (image, _args, context) => (await wholeImage(image, context)).size }),
    url: t.string({ description: 'The 600×600 JPEG: the only form in which the pixels are served.', resolve: (image) => imageUrl(image) }),
    createdAt: t.string({ resolve: async (image, _args, context) => iso((await wholeImage(image, context)).createdAt) }),
    cameraMake: t.string({ nullable: true, resolve: async (image, _args, context) => (await visibleFacts(image, context)).cameraMake }),
    cameraModel: t.string({ nullable: true, resolve: async (image, _args, context) => (await visibleFacts(image, context)).cameraModel }),
    takenAt: t.string({
      nullable: true,
      description: 'When the photo was taken (EXIF): null for everyone but its owner unless shareTakenAt, and when unknown.',
      resolve: async (image, _args, context) => {
        const { takenAt } = await visibleFacts(image, context);
        return takenAt === null ? null : iso(takenAt);
      },
    }),
    hasGps: t.boolean({
      nullable: true,
      description: 'Whether the original carries a GPS position: null for everyone but its owner unless shareLocation.',
      resolve: async (image, _args, context) => (await visibleFacts(image, context)).hasGps,
    }),
    gps: t.field({
      type: 'GeoPoint',
      nullable: true,
      description: 'Where the photo was taken: null for everyone but its owner unless shareLocation, and when it has none. (The served JPEG never carries it.)',
      resolve: async (image, _args, context) => (await visibleFacts(image, context)).gps,
    }),
    shareLocation: t.boolean({
      description: 'The owner lets everyone see hasGps and gps (setImageSharing); false by default.',
      resolve: async (image, _args, context) => (await wholeImage(image, context)).sharesLocation,
    }),
    shareTakenAt: t.boolean({
      description: 'The owner lets everyone see takenAt (setImageSharing); false by default.',
      resolve: async (image, _args, context) => (await wholeImage(image, context)).sharesTakenAt,
    }),
    owner: t.field({ type: 'User', resolve: async (image, _args, context) => referencedUser((await wholeImage(image, context)).ownerId, context) }),
    collections: t.field({
      type: ['Collection'],
      description: 'The collections this image is in, newest first.',
      resolve: (image, _args, { loaders }) => loaders.collectionsOfImage.load(image.id),
    }),
  }),
});

builder.objectType('GeoPoint', {
  fields: (t) => ({ latitude: t.exposeFloat('latitude'), longitude: t.exposeFloat('longitude') }),
});

builder.objectType('UploadImagePayload', {
  fields: (t) => ({
    image: t.expose('image', { type: 'Image' }),
    duplicate: t.exposeBoolean('duplicate', { description: 'True when you had already uploaded these exact bytes: the existing image is returned.' }),
  }),
});
