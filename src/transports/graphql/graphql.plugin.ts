import type { RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NoSchemaIntrospectionCustomRule, validate } from 'graphql';
import mercurius from 'mercurius';
import type { Services } from '../../app.js';
import type { GraphqlConfig } from '../../config.js';
import { AppError } from '../../core/errors.js';
import type { RequestAuth } from '../request-auth.js';
import type { WriteRateLimit } from '../rest/rate-limits.js';
import type { PageCache } from '../../ports/page-cache.js';
import { serveFeedQueriesFromCache } from './cached-feed-queries.js';
import { contextFor, type GraphqlContext } from './context.js';
import { formatErrors } from './errors.js';
import { graphiqlRoutes } from './graphiql.routes.js';
import { cacheAnonymousReads } from './http-caching.js';
import { assertDocumentWithinLimits, documentLimits } from './document-limits.js';
import { atGraphqlPath, negotiateGraphqlResponses } from './media-types.js';
import { assertWithinCost, costCheck, depthLimitRule, isTooComplex, mutationFieldNames } from './limits.js';
import { assertGraphqlRequest } from './request-envelope.js';
import { schema } from './schema.js';
import { acceptMultipartOperations } from './uploads.js';

export interface GraphqlPluginOptions {
  services: Services;
  auth: RequestAuth;
  config: GraphqlConfig;
  maxUploadBytes: number;
  writeRateLimit: WriteRateLimit;
  /** The log-in limit, which changePassword and deleteAccount count against: each checks a password. */
  passwordRateLimit: WriteRateLimit;
  /** Where anonymous feed queries are cached, exactly, as REST's feed pages are. */
  pageCache: PageCache;
}

const path = '/graphql';

/**
 * Headers that force a CORS preflight, one of which a multipart request must carry:
 * a cross-site form cannot send them, so it cannot make a signed-in browser upload.
 */
const csrfHeaders = ['apollo-require-preflight', 'x-apollo-operation-name', 'x-graphql-csrf', 'mercurius-require-preflight', 'x-mercurius-operation-name'];

/** GraphQL at /graphql (GET and POST) and GraphiQL at /graphiql, over the same services as REST. */
export async function graphqlPlugin(scope: FastifyInstance, options: GraphqlPluginOptions): Promise<void> {
  const { services, auth, config, maxUploadBytes } = options;
  // First, so none of the GraphQL hooks below apply to its pages and files.
  if (config.introspection) await scope.register(graphiqlRoutes, { endpoint: path });

  // Mercurius applies CSRF prevention to GET too, refusing plain GETs. GETs only run queries
  // (mutations over GET are refused), and credentials are bearer tokens a browser never attaches
  // on its own, so nothing forged can act as a user; CDNs and <link> prefetches must be able to
  // GET. The check stays on POST, where it refuses multipart and text/plain without a header.
  scope.addHook('onRoute', (route) => {
    if (route.url === path && route.method === 'GET') route.onRequest = undefined;
  });
  // First: a 406 stops the request before anything else runs, the Content-Type it sets is what
  // the caching hooks' ETag covers, and it marks the requests at the path (atGraphqlPath).
  negotiateGraphqlResponses(scope, path);
  acceptMultipartOperations(scope, maxUploadBytes);
  // Before Mercurius's schema validation, which coerces a number `query` into a string.
  scope.addHook('preValidation', async (request) => {
    if (atGraphqlPath(request)) assertGraphqlRequest(request);
  });
  const depthRule = depthLimitRule(config.maxDepth);
  // Automatic persisted queries: GET /graphql?extensions={"persistedQuery":{"version":1,"sha256Hash":…}}.
  // One store for Mercurius and the feed cache, so a hash names the same text in both.
  const persistedQueries = mercurius.persistedQueryDefaults.automatic();
  const { maxDepth, maxCost, cacheMaxAgeSeconds } = config;
  serveFeedQueriesFromCache(scope, {
    pageCache: options.pageCache,
    feed: services.feed,
    persistedQueries,
    limits: { maxDepth, maxCost },
    maxAgeSeconds: cacheMaxAgeSeconds,
  });
  cacheAnonymousReads(scope, cacheMaxAgeSeconds);

  await scope.register(mercurius, {
    // Built with its resolvers (schema.ts): Mercurius takes it as is, no separate resolver map.
    schema,
    path,
    context: (request: FastifyRequest) => contextFor(request, services, auth),
    errorFormatter: formatErrors,
    // Static rules: Mercurius caches a document with its validation result.
    validationRules: [depthRule, ...(config.introspection ? [] : [NoSchemaIntrospectionCustomRule])],
    // Mercurius's own GraphiQL loads React and GraphiQL from a CDN; ours is served from here.
    graphiql: false,
    csrfPrevention: { allowedContentTypes: ['application/json', 'application/graphql'], requiredHeaders: csrfHeaders },
    persistedQueryProvider: persistedQueries,
    // Also enforced, with the other size limits, by the preParsing hook below, before this parse.
    graphql: { parseOptions: { maxTokens: documentLimits.maxTokens } },
    allowBatchedQueries: false,
    // A document seen before is compiled (graphql-jit) into a function that runs its fields
    // directly: less work and garbage per request than graphql-js's generic walk. Its first run
    // goes through graphql-js, so a one-off query pays nothing for compiling.
    jit: 1,
  });

  // Every document (POST, GET, persisted) is held to the size limits before it is parsed for
  // execution, and must name an operation it defines: later hooks and Mercurius assume one.
  scope.graphql.addHook('preParsing', async (_schema, source, context) => {
    assertDocumentWithinLimits(source, requestParameters(context.reply.request).operationName);
  });

  // A new document is measured before it is validated too: validating hundreds of aliased fields
  // takes longer than refusing them. Depth first, the more telling refusal (a deep query is costly
  // too); errors other than the limits are left to validation to report.
  scope.graphql.addHook('preValidation', async (schemaNow, document, context) => {
    const [tooDeep] = validate(schemaNow, document, [depthRule]);
    if (tooDeep) throw tooDeep;
    const { variables, operationName } = requestParameters(context.reply.request);
    try {
      assertWithinCost(schemaNow, document, isObject(variables) ? variables : undefined, operationName, config.maxCost);
    } catch (error) {
      if (isTooComplex(error)) throw error;
    }
  });

  const writeLimit = options.writeRateLimit ? scope.createRateLimit(options.writeRateLimit) : null;
  const passwordLimit = options.passwordRateLimit ? scope.createRateLimit(ownKeys('password:', options.passwordRateLimit)) : null;
  const assertCostWithinLimit = costCheck(config.maxCost);
  // After validation, before execution, on every request: the cost needs the request's variables
  // (measured once per document when it declares none), and writes are counted against the same
  // per-user write budget as REST's, one count per mutation field. Fields that check a password
  // count against the log-in budget instead, as their REST routes do: otherwise they would be a
  // way to guess passwords at the (higher) write rate.
  scope.graphql.addHook('preExecution', async (schemaNow, document, context, variables) => {
    const { operationName } = requestParameters(context.reply.request);
    assertCostWithinLimit(schemaNow, document, variables as Record<string, unknown> | undefined, operationName);
    if (!writeLimit && !passwordLimit) return;
    for (const field of mutationFieldNames(schemaNow, document, operationName)) {
      const limit = passwordChecking.has(field) ? passwordLimit : writeLimit;
      if (!limit) continue;
      const verdict = await limit(context.reply.request);
      if (!verdict.isAllowed && verdict.isExceeded) {
        context.reply.header('retry-after', String(verdict.ttlInSeconds));
        const what = limit === passwordLimit ? 'password checks' : 'writes';
        throw new AppError('RATE_LIMITED', `Rate limit of ${verdict.max} ${what} per minute exceeded, retry in ${verdict.ttlInSeconds} s`, {
          limit: verdict.max,
        });
      }
    }
  });
}

/**
 * `limit` counting under keys of its own: limiters made by createRateLimit share one key space
 * in Redis, where the password limiter's per-IP keys would otherwise meet the write limiter's.
 */
function ownKeys(prefix: string, limit: RateLimitOptions): RateLimitOptions {
  const keyOf = limit.keyGenerator ?? ((request: FastifyRequest) => request.ip);
  return { ...limit, keyGenerator: async (request) => `${prefix}${await keyOf(request)}` };
}

/** Mutations that verify the account's password, limited like log-ins. */
const passwordChecking = new Set(['changePassword', 'deleteAccount']);

/** `operationName` and `variables` as sent (checked by assertGraphqlRequest; GET variables still JSON text). */
function requestParameters(request: FastifyRequest): { operationName: string | null | undefined; variables: unknown } {
  const params = (request.method === 'GET' ? request.query : request.body) as { operationName?: string | null; variables?: unknown } | undefined;
  return { operationName: params?.operationName, variables: params?.variables };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

declare module 'mercurius' {
  interface MercuriusContext extends GraphqlContext {}
}
