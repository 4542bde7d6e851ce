import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { DataStore, Locker } from '@tus/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../core/errors.js';
import type { UploadService } from '../../core/uploads/upload-service.js';
import type { RequestAuth } from '../request-auth.js';
import type { WriteRateLimit } from '../rest/rate-limits.js';
import { problems } from '../rest/schemas.js';
import { createTusServer } from './tus-server.js';

export interface TusRoutesOptions {
  uploads: UploadService;
  auth: RequestAuth;
  datastore: DataStore;
  locker: Locker;
  maxUploadBytes: number;
  writeRateLimit: WriteRateLimit;
}

const UploadParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const TusHeaders = Type.Object({ 'tus-resumable': Type.Optional(Type.String()) });

/**
 * Resumable uploads: the tus 1.0 protocol at `/uploads` (SPEC §4), served by @tus/server behind
 * our own authentication and ownership checks. Every request but OPTIONS needs a user's bearer
 * token; an upload id of someone else's is 404, exactly like an unknown one. Termination (DELETE)
 * is answered here, by the core, so an upload being turned into an image cannot lose its bytes.
 */
export const tusRoutes: FastifyPluginAsyncTypebox<TusRoutesOptions> = async (app, options) => {
  const { uploads, auth, maxUploadBytes, writeRateLimit } = options;
  const tus = createTusServer({ uploads, datastore: options.datastore, locker: options.locker, maxUploadBytes, logger: app.log });

  // PATCH bodies are the upload's bytes: left unread for tus to stream, never buffered by Fastify
  // (https://github.com/tus/tus-node-server/tree/main/packages/server#example-integrate-tus-into-fastify).
  app.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) => done(null));
  // tus requires the header on every response but OPTIONS, our own refusals included (tus 1.0 §2.2.1).
  app.addHook('onSend', async (request, reply) => {
    if (request.method !== 'OPTIONS') reply.header('tus-resumable', '1.0.0');
  });

  const handOver = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    try {
      await tus.server.handle(request.raw, reply.raw);
    } catch (error) {
      // The client went away mid-response: nothing left to tell it.
      request.log.info({ err: error }, 'tus response not delivered');
    }
  };
  const schema = (summary: string, statuses: number[]) => ({ tags: ['uploads'], summary, security: [{ bearer: [] }], response: problems(...statuses) });

  app.options('/uploads', { schema: { tags: ['uploads'], summary: 'tus capabilities (no auth)' } }, handOver);
  app.options('/uploads/:id', { schema: { tags: ['uploads'], summary: 'tus capabilities (no auth)', params: UploadParams } }, handOver);

  app.post('/uploads', {
    config: { rateLimit: writeRateLimit },
    schema: { ...schema('Create a resumable upload (tus creation, creation-with-upload); Upload-Length is required', [400, 401, 413, 429]), headers: TusHeaders },
  }, async (request, reply) => {
    const user = await auth.requireUser(request);
    const length = request.headers['upload-length'];
    if (typeof length !== 'string' || !/^\d{1,16}$/.test(length)) {
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
    tus.setOwner(request.raw, user.id);
    return handOver(request, reply);
  });

  app.head('/uploads/:id', {
    schema: { ...schema('The offset of your upload (tus core)', [401, 404, 410]), params: UploadParams },
  }, async (request, reply) => {
    const user = await auth.requireUser(request);
    await uploads.requireOwn(user.id, request.params.id);
    return handOver(request, reply);
  });

  app.patch('/uploads/:id', {
    schema: { ...schema('Append bytes at Upload-Offset (tus core)', [401, 404, 409, 410, 413]), params: UploadParams, consumes: ['application/offset+octet-stream'] },
  }, async (request, reply) => {
    const user = await auth.requireUser(request);
    const { id } = request.params;
    await uploads.requireOwn(user.id, id);
    await handOver(request, reply);
    await uploads.recordProgress(id).catch((error: unknown) => request.log.warn({ err: error, uploadId: id }, 'upload progress not recorded'));
  });

  app.delete('/uploads/:id', {
    schema: { tags: ['uploads'], summary: 'Terminate your upload (tus termination)', security: [{ bearer: [] }], params: UploadParams, response: { 204: Type.Null(), ...problems(401, 404, 409) } },
  }, async (request, reply) => {
    const user = await auth.requireUser(request);
    await uploads.terminate(user.id, request.params.id);
    return reply.code(204).send(null);
  });
};
