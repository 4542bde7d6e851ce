import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DataStore, ERRORS, type Locker, Server } from '@tus/server';
import type { FastifyBaseLogger } from 'fastify';
import { AppError } from '../../core/errors.js';
import { newUploadId } from '../../core/uploads/upload-id.js';
import type { UploadService } from '../../core/uploads/upload-service.js';
import { type CorsPolicy, exposedHeaders } from '../cors.js';
import { asKnownFailure, toProblem } from '../problem.js';

export interface TusServerOptions {
  uploads: UploadService;
  datastore: DataStore;
  locker: Locker;
  maxUploadBytes: number;
  logger: FastifyBaseLogger;
  /** Which origins get CORS headers (the API's one policy; @tus/server would answer `*` to any). */
  cors: CorsPolicy;
}

/**
 * The tus server behind our routes. Each entry point says what the request may act on, decided by
 * the route after authentication and ownership checks; the protocol handler never picks an upload
 * from the URL itself.
 */
export interface TrackedTusServer {
  /** Creation (POST) for the authenticated `ownerId`. */
  create(request: IncomingMessage, response: ServerResponse, ownerId: string): Promise<void>;
  /** HEAD or PATCH on `uploadId`, already checked to be the caller's: the only upload it can touch. */
  serve(request: IncomingMessage, response: ServerResponse, uploadId: string): Promise<void>;
  /** OPTIONS: the capabilities, about no upload in particular. */
  describe(request: IncomingMessage, response: ServerResponse): Promise<void>;
}

/** tus's refusals of extensions we do not offer are 501s; the request is what is wrong, so 400. */
const unsupportedExtensions: ReadonlySet<unknown> = new Set([
  ERRORS.UNSUPPORTED_CONCATENATION_EXTENSION,
  ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION,
  ERRORS.UNSUPPORTED_EXPIRATION_EXTENSION,
]);

/**
 * The tus 1.0 server (core, creation, creation-with-upload, expiration, termination) on
 * `@tus/server`, with the core told about every upload: created (owner, length, expiry) before the
 * store creates its bytes, finished (re-hashed and synced) before the last PATCH is acknowledged.
 * The checksum extension is not offered: @tus/server 2.x does not implement it.
 */
export function createTusServer(options: TusServerOptions): TrackedTusServer {
  const { uploads, datastore, locker, maxUploadBytes, logger, cors } = options;
  const owners = new WeakMap<IncomingMessage, string>();
  const uploadIds = new WeakMap<IncomingMessage, string>();
  const server = new Server({
    path: '/uploads',
    datastore,
    locker,
    maxSize: maxUploadBytes,
    // `Location: /uploads/<id>`: right behind any proxy, whatever Host header reached us.
    relativeLocation: true,
    // Preflights never reach tus (cors.ts answers them); its other responses name the origin only
    // when the policy allows it, and expose what a browser client reads beyond tus's own headers.
    allowedOrigins: (origin) => cors.allows(origin),
    exposedHeaders,
    namingFunction: () => newUploadId(),
    // @tus/server would take the id from the end of the whole URL, query string included
    // (`/uploads/<mine>?/<yours>` names yours), not from the path our ownership check read. It gets
    // the id the route checked, or none (404): the URL is never consulted.
    getFileIdFromRequest: (request) => uploadIds.get(nodeRequestOf(request)),
    async onUploadCreate(request, upload) {
      const ownerId = owners.get(nodeRequestOf(request));
      // The POST route authenticates and records the owner first; without one, refuse.
      if (ownerId === undefined || upload.size === undefined) throw { status_code: 401, body: 'Unauthenticated\n' };
      await uploads.begin(ownerId, upload.id, upload.size);
      return {};
    },
    async onUploadFinish(_request, upload) {
      await uploads.finish(upload.id);
      return {};
    },
    // Errors from our hooks get their registry status; tus's own ({status_code, body}) pass through,
    // except those that would wrongly blame the server.
    onResponseError(_request, failure) {
      // The file store's own writes can meet a full disk or exhausted descriptors: a 503, not a bug.
      const error = asKnownFailure(failure) as typeof failure;
      if (error instanceof AppError) {
        const problem = toProblem(error);
        return { status_code: problem.status, body: `${problem.code}: ${problem.detail}\n` };
      }
      if (unsupportedExtensions.has(error)) return { status_code: 400, body: (error as { body: string }).body };
      // Another request holds the upload for longer than tus waits: 423 Locked, as tusd answers,
      // which tus clients retry.
      if (error === ERRORS.ERR_LOCK_TIMEOUT) return { status_code: 423, body: 'The upload is busy with another request; retry\n' };
      if (!('status_code' in error)) {
        logger.error({ err: error }, 'tus request failed');
        return { status_code: 500, body: 'Internal server error\n' };
      }
      return undefined;
    },
  });
  return {
    async create(request, response, ownerId) {
      owners.set(request, ownerId);
      await server.handle(request, response);
    },
    async serve(request, response, uploadId) {
      uploadIds.set(request, uploadId);
      await server.handle(request, response);
    },
    async describe(request, response) {
      await server.handle(request, response);
    },
  };
}

/** @tus/server hands hooks srvx's web Request; the Node request it wraps is on `runtime.node`. */
function nodeRequestOf(request: object): IncomingMessage {
  const runtime = (request as { runtime?: { node?: { req?: IncomingMessage } } }).runtime;
  if (!runtime?.node?.req) throw new Error('@tus/server request without its Node.js request');
  return runtime.node.req;
}
