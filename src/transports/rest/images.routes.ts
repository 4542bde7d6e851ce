import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import parseRange from 'range-parser';
import { Type } from 'typebox';
import { AppError } from '../../core/errors.js';
import type { ImageIngest } from '../../core/images/image-ingest.js';
import type { ImageService } from '../../core/images/image-service.js';
import type { UploadImage, UploadSource } from '../../core/images/upload-image.js';
import type { RequestAuth } from '../request-auth.js';
import type { WriteRateLimit } from './rate-limits.js';
import { parseJsonBody } from './json-body.js';
import { receiveMultipartUpload, refuseDeclaredOversize } from './multipart-upload.js';
import { presentImage, presentUploadedImage } from './presenters.js';
import { IdParams, problems } from './schemas.js';
import { etagMatches } from '../etag.js';

export interface ImageRoutesOptions {
  images: ImageService;
  ingest: ImageIngest;
  uploadImage: UploadImage;
  auth: RequestAuth;
  writeRateLimit: WriteRateLimit;
  maxUploadBytes: number;
}

const UploadedImage = Type.Object({
  id: Type.String(),
  hash: Type.String({ description: 'SHA-256 of the uploaded bytes, lower-case hex' }),
  duplicate: Type.Boolean({ description: 'True when you had already uploaded these exact bytes' }),
  format: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  size: Type.Integer(),
  url: Type.String({ description: 'The 600×600 JPEG' }),
});

const FromUploadJson = Type.Object({
  uploadId: Type.String({ minLength: 1, maxLength: 128, description: 'A finished resumable upload of yours (tus, /uploads)' }),
});

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** `GET /images/{id}`, also each item of `GET /me/images`. */
export const ImageMetadata = Type.Object({
  id: Type.String(),
  ownerId: Type.String(),
  hash: Type.String(),
  format: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  size: Type.Integer(),
  status: Type.String(),
  url: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  uploadCompletedAt: Nullable(Type.String({ format: 'date-time' })),
  camera: Nullable(Type.Object({ make: Nullable(Type.String()), model: Nullable(Type.String()) })),
  takenAt: Nullable(Type.String({ format: 'date-time', description: 'The owner sees it; others only when shareTakenAt (else null)' })),
  hasGps: Nullable(Type.Boolean({ description: 'The owner sees it; others only when shareLocation (else null)' })),
  gps: Nullable(
    Type.Object({ latitude: Type.Number(), longitude: Type.Number() }, { description: 'The owner sees it; others only when shareLocation (else null)' }),
  ),
  shareLocation: Type.Boolean({ description: 'The owner lets everyone see hasGps and gps (PATCH /images/{id}); false by default' }),
  shareTakenAt: Type.Boolean({ description: 'The owner lets everyone see takenAt (PATCH /images/{id}); false by default' }),
  metadataExtractedAt: Nullable(
    Type.String({
      format: 'date-time',
      description: 'When camera, takenAt and GPS were read from the EXIF (a background job, moments after upload); null until then',
    }),
  ),
});

/** Raw bytes: Fastify sends Buffers as they are, the schema only documents them. */
const JpegBytes = Type.Unsafe<Buffer>({ type: 'string', format: 'binary' });

/** Derivatives never change under a given URL+ETag (the recipe version is in the ETag). */
const immutable = 'public, max-age=31536000, immutable';

/** Upload, read, serve and delete images. */
export const imageRoutes: FastifyPluginAsyncTypebox<ImageRoutesOptions> = async (app, options) => {
  const { images, ingest, uploadImage, auth, writeRateLimit, maxUploadBytes } = options;

  app.post(
    '/images',
    {
      config: { rateLimit: writeRateLimit },
      schema: {
        tags: ['images'],
        summary: 'Upload an image (multipart field "image"), or turn a finished resumable upload into one (JSON {uploadId})',
        consumes: ['multipart/form-data', 'application/json'],
        security: [{ bearer: [] }],
        response: { 200: UploadedImage, 201: UploadedImage, ...problems(400, 401, 413, 415, 422, 429) },
      },
      onRequest: refuseDeclaredOversize(maxUploadBytes),
    },
    async (request, reply) => {
      const user = await auth.requireUser(request);
      const upload = async (source: UploadSource) => {
        const { image, duplicate } = await uploadImage.run(user.id, source);
        return reply.code(duplicate ? 200 : 201).send(presentUploadedImage(image, duplicate));
      };
      if (request.headers['content-type']?.startsWith('application/json')) {
        if (typeof request.body !== 'object' || request.body === null || !('uploadId' in request.body)) {
          throw new AppError('IMAGE_MISSING', 'Send multipart/form-data with an "image" file part, or JSON {uploadId} naming a finished resumable upload');
        }
        const { uploadId } = parseJsonBody(FromUploadJson, request.body, 'Send JSON {uploadId} or multipart/form-data with an "image" file part');
        return upload({ uploadId });
      }
      const { staged } = await receiveMultipartUpload(request, ingest, maxUploadBytes);
      if (!staged) throw new AppError('IMAGE_MISSING', 'The multipart body has no "image" file part');
      try {
        return await upload({ staged });
      } finally {
        await staged.discard();
      }
    },
  );

  app.get(
    '/images/:id',
    {
      schema: {
        tags: ['images'],
        summary: 'Image metadata (when and where it was taken only for the owner)',
        params: IdParams,
        response: { 200: ImageMetadata, ...problems(404) },
      },
    },
    async (request) => presentImage(await images.get(request.params.id, await auth.user(request))),
  );

  app.patch(
    '/images/:id',
    {
      config: { rateLimit: writeRateLimit },
      schema: {
        tags: ['images'],
        summary: 'Choose whether everyone else sees where (GPS) and when your photo was taken',
        params: IdParams,
        body: Type.Object({
          shareLocation: Type.Optional(Type.Boolean({ description: 'Everyone sees hasGps and gps' })),
          shareTakenAt: Type.Optional(Type.Boolean({ description: 'Everyone sees takenAt' })),
        }),
        security: [{ bearer: [] }],
        response: { 200: ImageMetadata, ...problems(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { shareLocation, shareTakenAt } = request.body;
      const user = await auth.requireUser(request);
      return presentImage(await images.setSharing(request.params.id, user, { location: shareLocation, takenAt: shareTakenAt }));
    },
  );

  app.get(
    '/images/:id.jpg',
    {
      schema: {
        tags: ['images'],
        summary: 'The 600×600 JPEG; supports ETag/If-None-Match and Range',
        params: IdParams,
        produces: ['image/jpeg'],
        response: { 200: JpegBytes, 206: JpegBytes, 304: Type.Null(), ...problems(404, 416) },
      },
    },
    async (request, reply) => {
      const { bytes, etag } = await images.derivative(request.params.id);
      reply.header('etag', etag).header('cache-control', immutable).header('accept-ranges', 'bytes').type('image/jpeg');
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send(null);

      const rangeHeader = request.headers.range;
      // RFC 9110 §13.1.5: If-Range with a different validator means "send the whole thing".
      const ifRange = request.headers['if-range'];
      if (rangeHeader && (!ifRange || ifRange === etag)) {
        const ranges = parseRange(bytes.length, rangeHeader, { combine: true });
        if (ranges === -1) {
          reply.header('content-range', `bytes */${bytes.length}`);
          throw new AppError('RANGE_NOT_SATISFIABLE', `The image has ${bytes.length} bytes`);
        }
        // Multiple ranges would need multipart/byteranges; serving the whole body is allowed instead.
        if (ranges !== -2 && ranges.length === 1 && ranges[0]) {
          const { start, end } = ranges[0];
          return reply
            .code(206)
            .header('content-range', `bytes ${start}-${end}/${bytes.length}`)
            .send(bytes.subarray(start, end + 1));
        }
      }
      return reply.send(bytes);
    },
  );

  app.delete(
    '/images/:id',
    {
      config: { rateLimit: writeRateLimit },
      schema: {
        tags: ['images'],
        summary: 'Delete your image',
        params: IdParams,
        security: [{ bearer: [] }],
        response: { 204: Type.Null(), ...problems(401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      await images.delete(request.params.id, await auth.requireUser(request));
      return reply.code(204).send(null);
    },
  );
};
