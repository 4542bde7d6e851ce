import type { IncomingMessage } from 'node:http';
import { type DataStore, type Locker, Server } from '@tus/server';
import type { FastifyBaseLogger } from 'fastify';
import { AppError } from '../../core/errors.js';
import type { UploadService } from '../../core/uploads/upload-service.js';
import { toProblem } from '../problem.js';

export interface TusServerOptions {
  uploads: UploadService;
  datastore: DataStore;
  locker: Locker;
  maxUploadBytes: number;
  logger: FastifyBaseLogger;
}

/** A tus server whose uploads the core tracks, and the way to tell it who is uploading. */
export interface TrackedTusServer {
  server: Server;
  /** Records the authenticated owner of a creation request (POST), before handing it to `server`. */
  setOwner(request: IncomingMessage, ownerId: string): void;
}

/**
 * The tus 1.0 server (core, creation, creation-with-upload, expiration, termination) on
 * `@tus/server`, with the core told about every upload: created (owner, length, expiry) before the
 * store creates its bytes, finished (re-hashed and synced) before the last PATCH is acknowledged.
 * The checksum extension is not offered: @tus/server 2.x does not implement it. Authentication and
 * ownership are checked by the routes before a request gets here.
 */
export function createTusServer(options: TusServerOptions): TrackedTusServer {
  const { uploads, datastore, locker, maxUploadBytes, logger } = options;
  const owners = new WeakMap<IncomingMessage, string>();
  const server = new Server({
    path: '/uploads',
    datastore,
    locker,
    maxSize: maxUploadBytes,
    // `Location: /uploads/<id>`: right behind any proxy, whatever Host header reached us.
    relativeLocation: true,
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
    // Errors from our hooks get their registry status; tus's own ({status_code, body}) pass through.
    onResponseError(_request, error) {
      if (error instanceof AppError) {
        const problem = toProblem(error);
        return { status_code: problem.status, body: `${problem.code}: ${problem.detail}\n` };
      }
      if (!('status_code' in error)) {
        logger.error({ err: error }, 'tus request failed');
        return { status_code: 500, body: 'Internal server error\n' };
      }
      return undefined;
    },
  });
  return { server, setOwner: (request, ownerId) => owners.set(request, ownerId) };
}

/** @tus/server hands hooks srvx's web Request; the Node request it wraps is on `runtime.node`. */
function nodeRequestOf(request: object): IncomingMessage {
  const runtime = (request as { runtime?: { node?: { req?: IncomingMessage } } }).runtime;
  if (!runtime?.node?.req) throw new Error('@tus/server request without its Node.js request');
  return runtime.node.req;
}
