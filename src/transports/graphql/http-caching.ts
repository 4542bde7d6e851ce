import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addVary } from '../cors.js';
import { etagMatches } from '../etag.js';
import { atGraphqlPath } from './media-types.js';

/** Set on a response that may be cached publicly: true, or its ETag when already known. */
const cacheable = Symbol('graphql response may be cached publicly');
type Marked = FastifyRequest & { [cacheable]?: true | string };

/**
 * HTTP caching of GraphQL reads (at the path media-types.ts negotiates for): an anonymous GET
 * that succeeded is `public` for `maxAgeSeconds` with a strong ETag over the body and its type,
 * varies on Accept and Authorization, and is answered 304 on a matching If-None-Match (RFC 9110
 * §13.1.2). Anything sent with credentials is `private, no-store`; errors, POSTs and anything else
 * are `no-store`. Bodies cached by browsers and CDNs may be up to `maxAgeSeconds` old: the price of
 * letting them absorb read traffic (the server's own cache of feed queries, cached-feed-queries.ts,
 * is exact).
 */
export function cacheAnonymousReads(scope: FastifyInstance, maxAgeSeconds: number): void {
  scope.addHook('preSerialization', async (request, reply, payload) => {
    if (!atGraphqlPath(request)) return payload;
    const failed = typeof payload === 'object' && payload !== null && 'errors' in payload && payload.errors !== undefined;
    setCachingHeaders(request, reply, maxAgeSeconds, failed);
    return payload;
  });

  // A callback, not an async hook: it runs for every answer, cached feed pages included.
  scope.addHook('onSend', (request, reply, payload, done) => {
    const mark = (request as Marked)[cacheable];
    if (!mark || typeof payload !== 'string') return done(null, payload);
    // A body to hash is encoded once, hashed, and sent as those bytes: as a string it would be
    // encoded to UTF-8 three times (hashed, measured for Content-Length, written).
    const body = typeof mark === 'string' ? payload : Buffer.from(payload);
    const etag = typeof mark === 'string' ? mark : etagOf(String(reply.getHeader('content-type')), body);
    reply.header('etag', etag);
    if (!etagMatches(request.headers['if-none-match'], etag)) return done(null, body);
    reply.code(304);
    done(null, '');
  });
}

/** The strong ETag of `body` (text, or its UTF-8 bytes) sent as `contentType`. */
export function etagOf(contentType: string, body: string | Buffer): string {
  // Strong validators differ between representations (RFC 9110 §8.8.3): the type is hashed too.
  return `"${createHash('sha256').update(contentType).update('\n').update(body).digest('base64url').slice(0, 32)}"`;
}

/**
 * The caching headers of a response at the GraphQL path (see cacheAnonymousReads), and marks it for
 * an ETag (`etag`, when the caller already knows it, saves hashing the body again). Exported for
 * answers sent already serialized, which skip preSerialization.
 */
export function setCachingHeaders(request: FastifyRequest, reply: FastifyReply, maxAgeSeconds: number, failed: boolean, etag?: string): void {
  if (hasCredentials(request)) {
    reply.header('cache-control', 'private, no-store');
  } else if (request.method === 'GET' && reply.statusCode === 200 && !failed && maxAgeSeconds > 0) {
    reply.header('cache-control', `public, max-age=${maxAgeSeconds}`);
    // A shared cache may serve a `public` response to requests with Authorization (RFC 9111
    // §3.5): the viewer-dependent `me` must not leak across users. The Content-Type follows
    // Accept (media-types.ts), so a cache must not answer one client with the other's type.
    addVary(reply, 'Accept', 'Authorization');
    (request as Marked)[cacheable] = etag ?? true;
  } else {
    reply.header('cache-control', 'no-store');
  }
}

/** Whether `request` says who is asking (a session or admin token): its answer is nobody else's. */
export function hasCredentials(request: FastifyRequest): boolean {
  return request.headers.authorization !== undefined || request.headers['x-access-token'] !== undefined;
}
