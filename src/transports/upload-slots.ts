import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, FastifyTypeProvider, RawServerDefault } from 'fastify';
import { AppError } from '../core/errors.js';
import type { RequestAuth } from './request-auth.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Whether a request to this route counts against the concurrent-upload caps. Unset: it does
     * when its body is an upload stream (multipart, or tus's application/offset+octet-stream).
     */
    uploadSlot?: boolean;
  }
}

/** Largest refused body read to its end rather than cut off (a phone photo or two). */
const drainLimitBytes = 8 * 1024 * 1024;

export interface UploadSlotLimits {
  /** Uploads one signed-in user may stream at once; 0 is no cap. */
  perUser: number;
  /** Uploads one client address may stream at once; 0 is no cap. */
  perIp: number;
}

/**
 * Caps the uploads streaming at once per signed-in user and per client address, whichever
 * transport carries them (REST multipart, upload links, tus PATCH/POST, GraphQL multipart):
 * each holds a connection, a staging file and, soon, a decoder. Over a cap the request is
 * refused before a byte of its body is staged (429 TOO_MANY_UPLOADS with Retry-After). A slot is given back when the response is done or
 * the connection drops, whichever comes first.
 *
 * Counted in this process: with several processes behind a balancer, each enforces its own cap.
 */
export function capConcurrentUploads<Logger extends FastifyBaseLogger, Provider extends FastifyTypeProvider>(
  http: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger, Provider>,
  auth: RequestAuth,
  limits: UploadSlotLimits,
): void {
  const inFlight = new Map<string, number>();
  if (limits.perUser === 0 && limits.perIp === 0) return;

  http.addHook('onRequest', async (request, reply) => {
    if (!(request.routeOptions.config.uploadSlot ?? streamsUpload(request))) return;
    // RequestAuth memoises per request: the route's own requireUser reuses this lookup.
    const user = limits.perUser > 0 ? await auth.user(request) : null;
    const keys: { key: string; limit: number; scope: 'user' | 'ip' }[] = [];
    if (user) keys.push({ key: `user:${user.id}`, limit: limits.perUser, scope: 'user' });
    if (limits.perIp > 0) keys.push({ key: `ip:${request.ip}`, limit: limits.perIp, scope: 'ip' });
    const full = keys.find(({ key, limit }) => (inFlight.get(key) ?? 0) >= limit);
    if (full) {
      // A small body is drained (Node reads and drops it; the idle cut still bounds that) so the
      // client reliably reads its 429: closing with bytes unread makes the kernel send a reset,
      // which a client reports as a network error and retries at once. A large or unsized body
      // is not worth the bandwidth: close.
      const declared = Number(request.headers['content-length'] ?? Number.NaN);
      if (!(declared <= drainLimitBytes)) reply.header('connection', 'close');
      const who = full.scope === 'user' ? 'this account' : 'this address';
      throw new AppError('TOO_MANY_UPLOADS', `${full.limit} uploads from ${who} are already in progress; retry when one finishes`, {
        limit: full.limit,
        scope: full.scope,
      });
    }
    // Taken synchronously after the check, so two requests cannot both take the last slot.
    for (const { key } of keys) inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    let released = false;
    // 'close' fires once the response is sent or the connection is gone (a cut body, a client
    // that vanished, a hijacked tus reply alike), so no path leaks a slot.
    reply.raw.once('close', () => {
      if (released) return;
      released = true;
      for (const { key } of keys) {
        const left = (inFlight.get(key) ?? 1) - 1;
        if (left > 0) inFlight.set(key, left);
        else inFlight.delete(key);
      }
    });
  });
}

/** A body that carries upload bytes: multipart/form-data (REST, links, GraphQL) or a tus chunk. */
function streamsUpload(request: FastifyRequest): boolean {
  const type = (request.headers['content-type'] ?? '').toLowerCase();
  return type.startsWith('multipart/') || type.startsWith('application/offset+octet-stream');
}
