import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type DocumentNode, getOperationAST, Kind, NoSchemaIntrospectionCustomRule, type SelectionNode, validate } from 'graphql';
import mercurius from 'mercurius';
import type { Services } from '../../app.js';
import type { GraphqlConfig } from '../../config.js';
import { AppError } from '../../core/errors.js';
import type { RequestAuth } from '../request-auth.js';
import type { WriteRateLimit } from '../rest/rate-limits.js';
import { contextFor, type GraphqlContext } from './context.js';
import { formatErrors } from './errors.js';
import { cacheAnonymousReads } from './http-caching.js';
import { assertWithinCost, depthLimitRule, isTooComplex } from './limits.js';
import { mutationResolvers } from './resolvers/mutation.resolvers.js';
import { queryResolvers } from './resolvers/query.resolvers.js';
import { typeResolvers } from './resolvers/type.resolvers.js';
import { schema } from './schema.js';
import { acceptMultipartOperations, uploadScalar } from './uploads.js';

export interface GraphqlPluginOptions {
  services: Services;
  auth: RequestAuth;
  config: GraphqlConfig;
  maxUploadBytes: number;
  writeRateLimit: WriteRateLimit;
}

const path = '/graphql';

/**
 * Headers that force a CORS preflight, one of which a multipart request must carry (SPEC §4):
 * a cross-site form cannot send them, so it cannot make a signed-in browser upload.
 */
const csrfHeaders = ['apollo-require-preflight', 'x-apollo-operation-name', 'x-graphql-csrf', 'mercurius-require-preflight', 'x-mercurius-operation-name'];

/** GraphQL at /graphql (GET and POST) and GraphiQL at /graphiql, over the same services as REST (SPEC §5). */
export async function graphqlPlugin(scope: FastifyInstance, options: GraphqlPluginOptions): Promise<void> {
  const { services, auth, config, maxUploadBytes } = options;

  // Mercurius applies CSRF prevention to GET too, refusing plain GETs. GETs only run queries
  // (mutations over GET are refused), and credentials are bearer tokens a browser never attaches
  // on its own, so nothing forged can act as a user; CDNs and <link> prefetches must be able to
  // GET. The check stays on POST, where it refuses multipart and text/plain without a header.
  scope.addHook('onRoute', (route) => {
    if (route.url === path && route.method === 'GET') route.onRequest = undefined;
  });
  acceptMultipartOperations(scope, maxUploadBytes);
  const depthRule = depthLimitRule(config.maxDepth);
  cacheAnonymousReads(scope, path, config.cacheMaxAgeSeconds);

  await scope.register(mercurius, {
    schema,
    resolvers: { Upload: uploadScalar, Query: queryResolvers, Mutation: mutationResolvers, ...typeResolvers } as never,
    path,
    context: (request: FastifyRequest) => contextFor(request, services, auth),
    errorFormatter: formatErrors as never,
    // Static rules: Mercurius caches a document with its validation result.
    validationRules: [depthRule, ...(config.introspection ? [] : [NoSchemaIntrospectionCustomRule])],
    graphiql: config.introspection,
    csrfPrevention: { allowedContentTypes: ['application/json', 'application/graphql'], requiredHeaders: csrfHeaders },
    // Automatic persisted queries: GET /graphql?extensions={"persistedQuery":{"version":1,"sha256Hash":…}}.
    persistedQueryProvider: mercurius.persistedQueryDefaults.automatic(),
    // Parsing is bounded too: a document of more tokens is refused before it is validated.
    graphql: { parseOptions: { maxTokens: 50_000 } },
    allowBatchedQueries: false,
  });

  // A new document is measured before it is validated too: validating 1,000 aliased fields takes far
  // longer than refusing them. Depth first, the more telling refusal (a deep query is costly too);
  // errors other than the limits are left to validation to report.
  scope.graphql.addHook('preValidation', async (schemaNow, document, context) => {
    const [tooDeep] = validate(schemaNow, document, [depthRule]);
    if (tooDeep) throw tooDeep;
    const body = context.reply.request.body as { operationName?: string; variables?: Record<string, unknown> } | undefined;
    try {
      assertWithinCost(schemaNow, document, body?.variables, body?.operationName ?? undefined, config.maxCost);
    } catch (error) {
      if (isTooComplex(error)) throw error;
    }
  });

  const writeLimit = options.writeRateLimit ? scope.createRateLimit(options.writeRateLimit) : null;
  // After validation, before execution: the cost needs the request's variables, and writes are
  // counted against the same per-user write budget as REST's, one count per mutation field.
  scope.graphql.addHook('preExecution', async (schemaNow, document, context, variables) => {
    const operationName = (context.reply.request.body as { operationName?: string } | undefined)?.operationName ?? undefined;
    assertWithinCost(schemaNow, document, variables as Record<string, unknown> | undefined, operationName, config.maxCost);
    const writes = writeLimit ? mutationFieldCount(document, operationName) : 0;
    for (let i = 0; i < writes; i++) {
      const verdict = await writeLimit!(context.reply.request);
      if (!verdict.isAllowed && verdict.isExceeded) {
        context.reply.header('retry-after', String(verdict.ttlInSeconds));
        throw new AppError('RATE_LIMITED', `Rate limit of ${verdict.max} writes per minute exceeded, retry in ${verdict.ttlInSeconds} s`, { limit: verdict.max });
      }
    }
  });
}

/** How many root fields the executed operation has when it is a mutation (each one is a write). */
function mutationFieldCount(document: DocumentNode, operationName: string | undefined): number {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'mutation') return 0;
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  // Fragments on Mutation count too (validation has already refused cycles).
  const count = (selections: readonly SelectionNode[]): number =>
    selections.reduce((sum, selection) => {
      if (selection.kind === Kind.FIELD) return sum + 1;
      if (selection.kind === Kind.INLINE_FRAGMENT) return sum + count(selection.selectionSet.selections);
      return sum + count(fragments.get(selection.name.value)?.selectionSet.selections ?? []);
    }, 0);
  return count(operation.selectionSet.selections);
}

declare module 'mercurius' {
  interface MercuriusContext extends GraphqlContext {}
}
