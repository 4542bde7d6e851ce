import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { AppError, isAppError } from '../../core/errors.js';
import type { ImageIngest } from '../../core/images/image-ingest.js';
import type { UploadLink } from '../../core/uploads/upload-link.js';
import type { UploadLinkService } from '../../core/uploads/upload-link-service.js';
import type { StagedFile } from '../../ports/staging-area.js';
import { scrubDetail, toProblem } from '../problem.js';
import type { RequestAuth } from '../request-auth.js';
import { assertMultipartBoundary, isMalformedMultipart } from './multipart-upload.js';
import { imageUrl } from './presenters.js';
import type { WriteRateLimit } from './rate-limits.js';
import { problems } from './schemas.js';

export interface UploadLinkRoutesOptions {
  links: UploadLinkService;
  ingest: ImageIngest;
  auth: RequestAuth;
  writeRateLimit: WriteRateLimit;
  maxUploadBytes: number;
}

const CreateLinkBody = Type.Object(
  {
    sinceNow: Type.Optional(Type.String({ maxLength: 64, description: 'ISO-8601 duration from now, e.g. "PT1H" or "P7D"' })),
    expiresOn: Type.Optional(Type.String({ maxLength: 64, description: 'ISO-8601 date-time with a zone, e.g. "2030-01-31T18:00:00Z"' })),
    maxBytes: Type.Optional(Type.Integer({ minimum: 1, description: 'Lower cap on total bytes than UPLOAD_LINK_MAX_BYTES' })),
    maxImages: Type.Optional(Type.Integer({ minimum: 1, description: 'Lower cap on images than UPLOAD_LINK_MAX_IMAGES' })),
  },
  { additionalProperties: false, description: 'Exactly one of sinceNow and expiresOn' },
);

const LinkSchema = Type.Object({
  id: Type.String(),
  ownerId: Type.String({ description: "The link's system user: it owns every image uploaded through the link" }),
  createdAt: Type.String({ format: 'date-time' }),
  expiresOn: Type.String({ format: 'date-time' }),
  maxBytes: Type.Integer(),
  maxImages: Type.Integer(),
  usedBytes: Type.Integer(),
  usedImages: Type.Integer(),
});
const CreatedLinkSchema = Type.Intersect([
  LinkSchema,
  Type.Object({ relativePath: Type.String({ description: '/links/<token>: the token is shown only this once' }) }),
]);

const LinkImagesQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The last image id of the previous page' })),
});
const LinkImageSchema = Type.Object({
  id: Type.String(),
  hash: Type.String(),
  format: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  size: Type.Integer(),
  url: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

const LinkUploadResult = Type.Object({
  processed: Type.Array(Type.Object({ name: Type.String(), id: Type.String(), hash: Type.String(), size: Type.Integer(), duplicate: Type.Boolean() })),
  failed: Type.Array(Type.Object({ name: Type.String(), code: Type.String(), detail: Type.String() })),
});
type Processed = Static<typeof LinkUploadResult>['processed'][number];
type Failed = Static<typeof LinkUploadResult>['failed'][number];

const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) });
const LinkIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** Most image parts one request may carry; more links requests can always follow. */
const maxPartsPerRequest = 100;

/** Upload links: minted by admins, used by anyone holding one. */
export const uploadLinkRoutes: FastifyPluginAsyncTypebox<UploadLinkRoutesOptions> = async (app, options) => {
  const { links, ingest, auth, writeRateLimit, maxUploadBytes } = options;
  const admin: Record<string, string[]>[] = [{ adminToken: [] }, { bearer: [] }];

  app.post(
    '/admin/upload-links',
    {
      schema: {
        tags: ['upload links'],
        summary: 'Mint an expiring upload link',
        security: admin,
        body: CreateLinkBody,
        response: { 201: CreatedLinkSchema, ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      auth.requireAdmin(request);
      const { link, token } = await links.create(request.body);
      return reply.code(201).send({ ...presentLink(link), relativePath: `/links/${token}` });
    },
  );

  app.get(
    '/admin/upload-links/:id',
    {
      schema: {
        tags: ['upload links'],
        summary: 'A link and what it has taken so far',
        security: admin,
        params: LinkIdParams,
        response: { 200: LinkSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      auth.requireAdmin(request);
      return presentLink(await links.get(request.params.id));
    },
  );

  app.get(
    '/admin/upload-links/:id/images',
    {
      schema: {
        tags: ['upload links'],
        summary: 'The images uploaded through a link, newest first',
        security: admin,
        params: LinkIdParams,
        querystring: LinkImagesQuery,
        response: {
          200: Type.Object({ images: Type.Array(LinkImageSchema), nextAfter: Type.Union([Type.String(), Type.Null()]) }),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      auth.requireAdmin(request);
      const { limit, after } = request.query;
      const images = await links.images(request.params.id, after ?? null, limit);
      const page = images.map((image) => ({
        id: image.id,
        hash: image.sha256,
        format: image.format,
        width: image.width,
        height: image.height,
        size: image.size,
        url: imageUrl(image),
        createdAt: new Date(image.createdAt).toISOString(),
      }));
      return { images: page, nextAfter: images.length === limit ? images[images.length - 1]!.id : null };
    },
  );

  app.post(
    '/links/:token',
    {
      config: { rateLimit: writeRateLimit },
      // The token is the credential and sits in the URL: keep it out of the per-request info logs.
      logLevel: 'warn',
      schema: {
        tags: ['upload links'],
        summary: 'Upload images through a link: multipart, one or more image file parts',
        description: 'Each part is processed on its own: a bad part is reported in `failed`, the good ones are kept.',
        consumes: ['multipart/form-data'],
        params: TokenParams,
        response: { 200: LinkUploadResult, ...problems(400, 404, 410, 413, 415, 429) },
      },
    },
    async (request) => {
      // Decided before a byte of the body is read.
      const link = await links.open(request.params.token);
      if (!request.isMultipart()) throw new AppError('IMAGE_MISSING', 'Send multipart/form-data with one or more image file parts');
      assertMultipartBoundary(request);
      const result = await receiveParts(request, link);
      if (result.processed.length + result.failed.length === 0) throw new AppError('IMAGE_MISSING', 'The multipart body has no file part');
      return result;
    },
  );

  /** Streams each file part into staging and through the link, one at a time; a failure stays with its part. */
  async function receiveParts(request: FastifyRequest, link: UploadLink): Promise<{ processed: Processed[]; failed: Failed[] }> {
    const processed: Processed[] = [];
    const failed: Failed[] = [];
    const parts = request.parts({
      // One byte over the limit lets staging see (and report) the overflow.
      limits: { fileSize: maxUploadBytes + 1, files: maxPartsPerRequest, fields: 16, parts: maxPartsPerRequest + 16, fieldSize: 64 * 1024 },
    });
    try {
      for await (const part of parts) {
        if (part.type === 'field') continue;
        const name = part.filename || part.fieldname || `part ${processed.length + failed.length + 1}`;
        let staged: StagedFile | null = null;
        try {
          staged = await ingest.stage(part.file);
          const { image, duplicate } = await links.receive(link, staged);
          processed.push({ name, id: image.id, hash: image.sha256, size: image.size, duplicate });
        } catch (error) {
          failed.push(partFailure(name, error, request));
          // Whatever of the part is unread must be drained for the next part to arrive.
          part.file.resume();
        } finally {
          await staged?.discard();
        }
      }
    } catch (error) {
      // The body itself broke (cut off, over the part limits): keep what was processed and say so.
      const failure = isMalformedMultipart(error) ? new AppError('MALFORMED_MULTIPART', (error as Error).message) : error;
      if (processed.length + failed.length === 0) throw failure;
      failed.push(partFailure('(rest of the request)', failure, request));
    }
    return { processed, failed };
  }
};

function partFailure(name: string, error: unknown, request: FastifyRequest): Failed {
  if (isAppError(error)) return { name, code: error.code, detail: scrubDetail(error.message) };
  // Multipart limit errors (FST_FILES_LIMIT…) become their transport codes (TOO_MANY_FILES…).
  const problem = toProblem(error);
  if (problem.status >= 500) request.log.error({ err: error, part: name }, 'upload link part failed');
  return { name, code: problem.code, detail: problem.detail };
}

function presentLink(link: UploadLink) {
  return {
    id: link.id,
    ownerId: link.ownerId,
    createdAt: new Date(link.createdAt).toISOString(),
    expiresOn: new Date(link.expiresAt).toISOString(),
    maxBytes: link.maxBytes,
    maxImages: link.maxImages,
    usedBytes: link.usedBytes,
    usedImages: link.usedImages,
  };
}
