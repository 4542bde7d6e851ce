import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyTypeProvider, RawServerDefault } from 'fastify';
import { AppError } from '../core/errors.js';
import { sendProblem, toProblem } from './problem.js';

/**
 * Response headers a page on another origin may read (the Fetch standard hides all but a few
 * "safelisted" ones): where a created thing is, upload progress and expiry (tus), cache
 * validators, when to retry, idempotent replays, rate limits and the request id for support.
 */
export const exposedHeaders = [
  'Location',
  'ETag',
  'Retry-After',
  'Idempotent-Replayed',
  'Idempotency-Replayed',
  'X-Request-Id',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Expires',
  'Upload-Metadata',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
];

const allowedMethods = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
/** Browsers cache a preflight at most this long anyway (Chromium caps at 2 h). */
const preflightMaxAgeSeconds = 600;
/** `Access-Control-Request-Headers`: field names joined by commas (RFC 9110 token syntax). */
const headerList = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;

/** Which web origins may call the API from a browser (CORS_ORIGINS). */
export class CorsPolicy {
  private readonly origins: ReadonlySet<string> | '*';

  /** `origins`: `*` for any, or exact origins as browsers send them; none allows none. */
  constructor(origins: '*' | readonly string[]) {
    this.origins = origins === '*' ? '*' : new Set(origins);
  }

  /** Whether responses depend on `Origin` at all (so caches must keep them apart). */
  get active(): boolean {
    return this.origins === '*' || this.origins.size > 0;
  }

  /** Whether a page on `origin` may read our responses. `null` (sandboxed pages, files) never may. */
  allows(origin: string | undefined): origin is string {
    if (origin === undefined || origin === '' || origin === 'null') return false;
    return this.origins === '*' || this.origins.has(origin);
  }
}

/**
 * CORS for every route: REST, GraphQL and tus (whose hijacked responses carry @tus/server's own
 * headers, driven by the same policy; see tus-server.ts). Preflights are answered here, before
 * routing, so every path has one; a preflight from an origin not allowed is a 403 problem, which
 * the browser reports as a CORS failure. Credentials are not allowed: the API takes bearer tokens,
 * not cookies.
 */
export function registerCors<Logger extends FastifyBaseLogger, Provider extends FastifyTypeProvider>(
  http: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger, Provider>,
  policy: CorsPolicy,
): void {
  http.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (policy.active) addVary(reply, 'Origin');
    const requestedMethod = request.headers['access-control-request-method'];
    if (request.method === 'OPTIONS' && origin !== undefined && requestedMethod !== undefined) {
      if (policy.active) addVary(reply, 'Access-Control-Request-Method', 'Access-Control-Request-Headers');
      if (!policy.allows(origin)) {
        return sendProblem(
          reply,
          toProblem(new AppError('FORBIDDEN', `Origin ${JSON.stringify(origin)} may not call this API from a browser (see CORS_ORIGINS)`)),
        );
      }
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-methods', allowedMethods);
      const requestedHeaders = request.headers['access-control-request-headers'];
      // Any header may be sent: what a request may do is decided by its token, not by CORS.
      if (typeof requestedHeaders === 'string' && headerList.test(requestedHeaders.trim()))
        reply.header('access-control-allow-headers', requestedHeaders.trim());
      reply.header('access-control-max-age', String(preflightMaxAgeSeconds));
      return reply.code(204).send();
    }
    if (policy.allows(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-expose-headers', exposedHeaders.join(', '));
    }
    return undefined;
  });
}

/** Adds names to `Vary` without dropping those already there (CORS, content negotiation and caching each add theirs). */
export function addVary(reply: FastifyReply, ...names: string[]): void {
  const sent = reply.getHeader('vary');
  const present =
    typeof sent === 'string'
      ? sent
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean)
      : [];
  const missing = names.filter((name) => !present.some((have) => have.toLowerCase() === name.toLowerCase()));
  if (missing.length > 0) reply.header('vary', [...present, ...missing].join(', '));
}
