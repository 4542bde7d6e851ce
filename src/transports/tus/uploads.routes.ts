import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { DataStore, Locker } from '@tus/server';
import { errorCodes, type FastifyReply, type FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../core/errors.js';
import type { UploadService } from '../../core/uploads/upload-service.js';
import type { CorsPolicy } from '../cors.js';
import type { RequestAuth } from '../request-auth.js';
import type { WriteRateLimit } from '../rest/rate-limits.js';
import { problems } from '../rest/schemas.js';
import { createTusServer } from './tus-server.js';

export interface TusRoutesOptions {
  uploads: UploadService;
  auth: RequestAuth;
  /** The API's CORS policy: tus writes its own responses, so it applies it itself. */
  cors: CorsPolicy;
  datastore: DataStore;
  locker: Locker;
  maxUploadBytes: number;
  writeRateLimit: WriteRateLimit;
}

const UploadParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128, description: '32 lower-case hex characters; anything else is 404' }) });
const TusHeaders = Type.Object({ 'tus-resumable': Type.Optional(Type.String()) });

const tusVersion = '1.0.0';
const patchContentType = 'application/offset+octet-stream';

/**
 * Resumable uploads: the tus 1.0 protocol at `/uploads`, served by @tus/server behind
 * our own authentication and ownership checks. Every request but OPTIONS needs a user's bearer
 * token; an upload id of someone else's is 404, exactly like an unknown one. Termination (DELETE)
 * is answered here, by the core, so an upload being turned into an image cannot lose its bytes.
 */
export const tusRoutes: FastifyPluginAsyncTypebox<TusRoutesOptions> = async (app, options) => {
  const { uploads, auth, maxUploadBytes, writeRateLimit } = options;
  const { cors } = options;
  const tus = createTusServer({ uploads, datastore: options.datastore, locker: options.locker, maxUploadBytes, logger: app.log, cors });

  // PATCH bodies are the upload's bytes: left unread for tus to stream, never buffered by Fastify
  // (https://github.com/tus/tus-node-server/tree/main/packages/server#example-integrate-tus-into-fastify).
  app.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) => done(null));
  // tus requires the header on every response but OPTIONS, our own refusals included (tus 1.0 §2.2.1).
  app.addHook('onSend', async (request, reply) => {
    if (request.method !== 'OPTIONS') reply.header('tus-resumable', tusVersion);
  });
  // Refusals that need nothing but the headers, before authentication and before a body is read.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'OPTIONS') return;
    if (request.headers['tus-resumable'] !== tusVersion) {
      // tus 1.0 "Tus-Resumable": every request but OPTIONS carries it; an unsupported version MUST
      // be 412 with Tus-Version, unprocessed. DELETE, answered by the core, is held to it too.
      reply.header('tus-version', tusVersion);
      return reply.code(412).type('text/plain; charset=utf-8').send(`Send Tus-Resumable: ${tusVersion}\n`);
    }
    const override = request.headers['x-http-method-override'];
    if (override !== undefined && override !== request.method) {
      // tus 1.0 lets clients tunnel PATCH/DELETE through POST this way; we route (and authorize) by
      // the real method only, so a tunnelled request would silently become another one: refuse it.
      throw new AppError('VALIDATION_FAILED', `X-HTTP-Method-Override is not supported: send ${override} as the request method`);
    }
    if (request.headers['upload-concat'] !== undefined) {
      // Concatenation is not in our Tus-Extension, which is how tus 1.0 clients detect extensions
      // ("Protocol Extensions"). The spec names no status for using one anyway; 400 is what it
      // uses for headers a server cannot honour (Upload-Defer-Length other than 1, a stray
      // Upload-Secret). Ignoring it would turn a "partial" into an ordinary upload.
      throw new AppError('VALIDATION_FAILED', 'Upload-Concat: the concatenation extension is not offered; upload the file as one upload');
    }
    return undefined;
  });

  const handOver = async (request: FastifyRequest, reply: FastifyReply, serve: () => Promise<void>) => {
    reply.hijack();
    // Headers set on `reply` are not written for a hijacked response; caches must still keep
    // answers to different origins apart.
    if (cors.active) reply.raw.setHeader('vary', 'Origin');
    try {
      await serve();
    } catch (error) {
      // The client went away mid-response: nothing left to tell it.
      request.log.info({ err: error }, 'tus response not delivered');
    }
  };
  const describe = (request: FastifyRequest, reply: FastifyReply) => handOver(request, reply, () => tus.describe(request.raw, reply.raw));
  const schema = (summary: string, statuses: number[]) => ({ tags: ['uploads'], summary, security: [{ bearer: [] }], response: problems(...statuses) });

  app.options('/uploads', { schema: { tags: ['uploads'], summary: 'tus capabilities (no auth)' } }, describe);
  app.options('/uploads/:id', { schema: { tags: ['uploads'], summary: 'tus capabilities (no auth)', params: UploadParams } }, describe);

  app.post(
    '/uploads',
    {
      config: { rateLimit: writeRateLimit },
      schema: {
        ...schema('Create a resumable upload (tus creation, creation-with-upload); Upload-Length is required', [400, 401, 412, 413, 429]),
        headers: TusHeaders,
      },
    },
    async (request, reply) => {
      const user = await auth.requireUser(request);
      const length = request.headers['upload-length'];
      // Both headers at once would reach tus's 501 for the extension we removed.
      if (typeof length !== 'string' || !/^\d{1,16}$/.test(length) || request.headers['upload-defer-length'] !== undefined) {
        throw new AppError('VALIDATION_FAILED', 'Send Upload-Length with the total size in bytes (deferred length is not supported)');
      }
      try {
        // Before a byte is stored: an honest client is refused without sending anything.
        uploads.assertAcceptableLength(Number(length));
      } catch (error) {
        // A creation-with-upload body may be on its way: do not wait for it.
        reply.header('connection', 'close');
        throw error;
      }
      return handOver(request, reply, () => tus.create(request.raw, reply.raw, user.id));
    },
  );

  // The upload acted on is the path's id, checked (shape, then owner) and handed to tus as such.
  const namedUpload = (request: { raw: { url?: string | undefined }; params: { id: string } }): string => {
    // We issue upload URLs (Location) without query or fragment, and a query is part of what a URL
    // names (RFC 3986 §3.4): `/uploads/<id>?…` is not an upload of anyone's.
    if (/[?#]/.test(request.raw.url ?? '')) throw new AppError('UPLOAD_NOT_FOUND', 'Upload URLs have no query string: use the Location header as given');
    return request.params.id;
  };
  app.head(
    '/uploads/:id',
    {
      // @fastify/swagger leaves HEAD routes out unless asked; this one is tus core, not a GET's echo.
      config: { swagger: { exposeHeadRoute: true } },
      schema: { ...schema('The offset of your upload (tus core)', [401, 404, 410, 412]), params: UploadParams },
    },
    async (request, reply) => {
      const user = await auth.requireUser(request);
      const { id } = await uploads.requireOwn(user.id, namedUpload(request));
      return handOver(request, reply, () => tus.serve(request.raw, reply.raw, id));
    },
  );

  app.patch(
    '/uploads/:id',
    {
      schema: {
        ...schema('Append bytes at Upload-Offset (tus core)', [400, 401, 404, 409, 410, 412, 413, 415]),
        params: UploadParams,
        consumes: [patchContentType],
      },
      // tus 1.0 PATCH: any other Content-Type SHOULD be 415; refused before Fastify parses a body.
      onRequest: async (request) => {
        const type = request.headers['content-type'];
        if (type?.split(';')[0]?.trim().toLowerCase() !== patchContentType) throw new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(type ?? '(none)');
      },
    },
    async (request, reply) => {
      const user = await auth.requireUser(request);
      const { id } = await uploads.requireOwn(user.id, namedUpload(request));
      if (request.headers['upload-length'] !== undefined || request.headers['upload-defer-length'] !== undefined) {
        // The length was fixed at creation; tus would answer 501 for the deferred-length extension.
        throw new AppError('VALIDATION_FAILED', 'The length was set when the upload was created (deferred length is not supported)');
      }
      await handOver(request, reply, () => tus.serve(request.raw, reply.raw, id));
      await uploads.recordProgress(id).catch((error: unknown) => request.log.warn({ err: error, uploadId: id }, 'upload progress not recorded'));
    },
  );

  app.delete(
    '/uploads/:id',
    {
      schema: {
        tags: ['uploads'],
        summary: 'Terminate your upload (tus termination)',
        security: [{ bearer: [] }],
        params: UploadParams,
        response: { 204: Type.Null(), ...problems(401, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      const user = await auth.requireUser(request);
      await uploads.terminate(user.id, namedUpload(request));
      return reply.code(204).send(null);
    },
  );
};
