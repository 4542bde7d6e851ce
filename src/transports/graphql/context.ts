import type { FastifyRequest } from 'fastify';
import type { Services } from '../../app.js';
import type { FeedSpan } from '../../core/posts/feed-service.js';
import type { User } from '../../core/users/user.js';
import { bearerToken, type RequestAuth } from '../request-auth.js';
import { createLoaders, type Loaders } from './loaders.js';

/** What every resolver gets: who is asking, the services, and this request's loaders. */
export interface GraphqlContext {
  services: Services;
  loaders: Loaders;
  /** The signed-in user, or null (an unknown or expired token is anonymous, as in REST). */
  viewer(): Promise<User | null>;
  /** The signed-in user. Throws UNAUTHENTICATED. */
  requireViewer(): Promise<User>;
  /** The bearer token the request came with, if any (the session a password change keeps). */
  sessionToken(): string | null;
  /** Where the feed resolver notes the span of every feed page it read (see `feedSpansOf`). */
  feedSpans: FeedSpan[];
}

/** The feed spans each request's resolvers read, for reusing its answer at a later feed version. */
const spansByRequest = new WeakMap<FastifyRequest, FeedSpan[]>();

/** The spans of the feed pages `request`'s execution read so far (undefined: it has no context). */
export function feedSpansOf(request: FastifyRequest): readonly FeedSpan[] | undefined {
  return spansByRequest.get(request);
}

/** Builds the context of one request; the viewer is resolved once, on first use. */
export function contextFor(request: FastifyRequest, services: Services, auth: RequestAuth): GraphqlContext {
  const viewer = () => auth.user(request);
  const feedSpans: FeedSpan[] = [];
  spansByRequest.set(request, feedSpans);
  return {
    feedSpans,
    services,
    loaders: createLoaders(services, viewer),
    viewer,
    requireViewer: () => auth.requireUser(request),
    sessionToken: () => bearerToken(request) ?? null,
  };
}
