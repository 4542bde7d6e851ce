import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendProblem } from '../problem.js';

/**
 * The two response media types of GraphQL over HTTP. With `application/graphql-response+json` the
 * status says what happened (4xx when nothing was executed); `application/json` is for clients
 * older than that type, which trust a body only under 200, so every GraphQL request error is 200.
 */
export type GraphqlMediaType = 'application/graphql-response+json' | 'application/json';

export const graphqlResponseJson = 'application/graphql-response+json';
const legacyJson = 'application/json';

/** The Content-Type header for `type`: the spec asks servers to name the encoding, always UTF-8. */
function contentTypeOf(type: GraphqlMediaType): string {
  return `${type}; charset=utf-8`;
}

// A property rather than a WeakMap entry: set on every request, and weak entries cost the garbage
// collector more than the request they describe.
const negotiated = Symbol('negotiated GraphQL response type');
type Negotiated = FastifyRequest & { [negotiated]?: GraphqlMediaType };

/** Remembers the type `request` will be answered in (see negotiateMediaType). */
function setResponseMediaType(request: FastifyRequest, type: GraphqlMediaType): void {
  (request as Negotiated)[negotiated] = type;
}

/**
 * Whether `request` is a GET, HEAD or POST at the GraphQL path that was not refused as not
 * acceptable: cheaper to ask than Fastify's `routeOptions`, a getter that builds an object per call.
 */
export function atGraphqlPath(request: FastifyRequest): boolean {
  return (request as Negotiated)[negotiated] !== undefined;
}

/** The type `request` is answered in; application/json before (or without) negotiation. */
export function responseMediaType(request: FastifyRequest | undefined): GraphqlMediaType {
  return (request as Negotiated | undefined)?.[negotiated] ?? legacyJson;
}

/**
 * Picks the response type from an Accept header (RFC 9110 §12.5.1), or null when it accepts
 * neither (the caller answers 406, as the GraphQL-over-HTTP spec recommends).
 * - No Accept header, one with no media range in it (disregarded, which RFC 9110 §12.5.1 allows
 *   instead of a 406), or only wildcards (`*\/*`, `application/*`, what fetch and curl send):
 *   application/json. The spec's post-2025 default would be the new type, but clients that name
 *   no type are the ones most likely to predate it, and graphql-http's audits still expect JSON.
 * - Otherwise the higher quality value wins; a type named outright beats one reached through a
 *   wildcard; at a tie between the two named types, graphql-response+json, whose status codes
 *   say more.
 */
export function negotiateMediaType(accept: string | undefined): GraphqlMediaType | null {
  if (accept === undefined || accept.trim() === '') return legacyJson;
  const ranges = parseAccept(accept);
  if (ranges.length === 0) return legacyJson;
  const modern = qualityOf(ranges, 'application', 'graphql-response+json');
  const legacy = qualityOf(ranges, 'application', 'json');
  if (modern.q === 0 && legacy.q === 0) return null;
  if (modern.q !== legacy.q) return modern.q > legacy.q ? graphqlResponseJson : legacyJson;
  return modern.explicit ? graphqlResponseJson : legacyJson;
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const item of header.split(',')) {
    const [range = '', ...params] = item.split(';');
    const [type, subtype, extra] = range.trim().toLowerCase().split('/');
    if (!type || !subtype || extra !== undefined) continue; // not a media range: ignored
    let q = 1;
    for (const param of params) {
      const [name, value] = param.split('=').map((part) => part.trim());
      if (name?.toLowerCase() === 'q') q = qValue(value);
    }
    ranges.push({ type, subtype, q });
  }
  return ranges;
}

/** RFC 9110 §12.4.2: 0 to 1, at most three decimals; anything else counts as 1 (lenient). */
function qValue(text: string | undefined): number {
  if (text === undefined || !/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(text)) return 1;
  return Number(text);
}

/** The quality the most specific matching range gives a type (RFC 9110 §12.5.1), and whether it named the type. */
function qualityOf(ranges: MediaRange[], type: string, subtype: string): { q: number; explicit: boolean } {
  let best: { specificity: number; q: number } | null = null;
  for (const range of ranges) {
    const specificity =
      range.type === type && range.subtype === subtype
        ? 2
        : range.type === type && range.subtype === '*'
          ? 1
          : range.type === '*' && range.subtype === '*'
            ? 0
            : -1;
    if (specificity < 0) continue;
    // Of equally specific ranges (a type listed twice) the first counts.
    if (!best || specificity > best.specificity) best = { specificity, q: range.q };
  }
  return { q: best?.q ?? 0, explicit: best?.specificity === 2 };
}

/**
 * Content negotiation at `path`: a request accepting neither type is answered 406 with a problem
 * document before anything is read or run (the spec's recommended choice, and nothing GraphQL
 * could say would be understood); every JSON answer otherwise carries the negotiated type.
 * Registered before the caching hooks, whose ETag covers the Content-Type.
 */
export function negotiateGraphqlResponses(scope: FastifyInstance, path: string): void {
  // Callbacks, not async hooks: they run on every request, cached feed answers included.
  scope.addHook('onRequest', (request, reply, done) => {
    if (!['GET', 'HEAD', 'POST'].includes(request.method) || request.routeOptions.url !== path) return done();
    const type = negotiateMediaType(request.headers.accept);
    if (type) {
      setResponseMediaType(request, type);
      return done();
    }
    const detail = `GraphQL answers in ${graphqlResponseJson} or ${legacyJson}; the Accept header allows neither`;
    sendProblem(reply.header('cache-control', 'no-store'), {
      type: '/problems/not-acceptable',
      title: 'Not acceptable',
      status: 406,
      detail,
      code: 'NOT_ACCEPTABLE',
    });
  });
  scope.addHook('onSend', (request, reply, payload, done) => {
    const sent = reply.getHeader('content-type');
    // Only GraphQL responses (Fastify's JSON); a problem document keeps its own type.
    if (typeof sent === 'string' && sent.startsWith(legacyJson) && atGraphqlPath(request))
      reply.header('content-type', contentTypeOf(responseMediaType(request)));
    done(null, payload);
  });
}
