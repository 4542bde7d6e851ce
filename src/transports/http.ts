import { answerClientError } from './client-errors.js';
import { randomUUID } from 'node:crypto';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController } from 'fastify';
import type { App } from '../app.js';
import { CorsPolicy, registerCors } from './cors.js';
import { graphqlPlugin } from './graphql/graphql.plugin.js';
import { refuseNonFiniteNumbers } from './finite-numbers.js';
import { hideServerPaths, sendProblem, toProblem } from './problem.js';
import { RequestAuth } from './request-auth.js';
import { rememberingQueryParser } from './query-strings.js';
import { connectionTimeouts, cutIdleBodies } from './slow-clients.js';
import { capConcurrentUploads } from './upload-slots.js';
import { healthRoutes } from './rest/health.routes.js';
import { imageRoutes } from './rest/images.routes.js';
import { ProblemSchema } from './rest/schemas.js';
import { accountRoutes } from './rest/users.routes.js';
import { meRoutes } from './rest/me.routes.js';
import { adminRoutes } from './rest/admin.routes.js';
import { commentRoutes } from './rest/comments.routes.js';
import { postRoutes } from './rest/posts.routes.js';
import { uploadLinkRoutes } from './rest/upload-links.routes.js';
import { tusRoutes } from './tus/uploads.routes.js';
import { loadWebApp, webAppDir, webAppRoutes } from './web/web-app.js';
import { loginRateLimit, rateLimitedError, writeRateLimit } from './rest/rate-limits.js';
import rateLimit from '@fastify/rate-limit';

/** Requests slower than this are logged at info; the rest only at debug. */
const slowRequestMs = 1_000;

/** Builds the HTTP server with every transport mounted; does not listen. */
export async function buildHttpServer(app: App) {
  const { metrics } = app;
  const limits = app.config.clients;
  const http = Fastify({
    loggerInstance: app.logger,
    // JSON bodies here are small; uploads are multipart streams and not subject to this limit.
    bodyLimit: 256 * 1024,
    // Uploads from phones on slow links can take long, so the total is generous (1 h by default);
    // a body that stops arriving is cut much sooner by cutIdleBodies below.
    requestTimeout: limits.requestTimeoutSeconds * 1000,
    // Fastify's default (72 s) suits sitting behind a load balancer with a 60 s idle timeout;
    // exposed directly, every idle connection is a descriptor held for nothing.
    keepAliveTimeout: limits.keepAliveTimeoutSeconds * 1000,
    http: connectionTimeouts(limits),
    trustProxy: trustProxy(limits.trustProxy),
    // What Node's HTTP parser refuses is answered with Connection: close (Fastify's default omits it).
    clientErrorHandler: answerClientError,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Two info lines per request cost ~40 µs each (feed bench); we log refusals, failures and
    // slow requests below instead, and every request at debug.
    logController: new LogController({ disableRequestLogging: true }),
    // A GraphQL GET repeats its long query string verbatim: parsed once, not on every request.
    routerOptions: { querystringParser: rememberingQueryParser() },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false }, plugins: [refuseNonFiniteNumbers] },
  }).withTypeProvider<TypeBoxTypeProvider>();

  http.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // Before every other hook: a refusal (a 429 from the upload cap, say) must be readable by the page too.
  const cors = new CorsPolicy(limits.corsOrigins);
  registerCors(http, cors);
  hideServerPaths(app.config.dataDir, ...localBlobRoot(app.config.blobStoreUrl));
  // Node closes connections over the cap at once: better than running out of descriptors, which
  // would fail uploads already in flight (each needs a staging file) instead of new arrivals.
  if (limits.maxConnections > 0) http.server.maxConnections = limits.maxConnections;
  cutIdleBodies(http, limits.bodyIdleTimeoutSeconds * 1000);
  // Before any route plugin registers, so the cap covers every transport's uploads.
  const auth = new RequestAuth(app.services.accounts, app.services.admin);
  capConcurrentUploads(http, auth, { perUser: limits.maxConcurrentUploadsPerUser, perIp: limits.maxConcurrentUploadsPerIp });
  const { queryCounter } = app;
  if (queryCounter) {
    // Debug aid (IMAGEGRAM_DEBUG_QUERY_COUNT=1): the rest of the request runs inside the scope.
    http.addHook('onRequest', (_request, _reply, done) => queryCounter.run(() => done()));
    http.addHook('onSend', async (_request, reply, payload) => {
      reply.header('x-query-count', String(queryCounter.current() ?? 0));
      return payload;
    });
  }
  http.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status: reply.statusCode }, reply.elapsedTime / 1000);
    const summary = { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    if (reply.elapsedTime > slowRequestMs) request.log.info(summary, 'slow request');
    else request.log.debug(summary, 'request completed');
  });

  http.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: problem.code, detail: problem.detail }, 'request refused');
    return sendProblem(reply, problem);
  });
  // The web app's pages answer only requests no route matched (see loadWebApp).
  const web = loadWebApp();
  if (!web) app.logger.warn({ dir: webAppDir }, 'the web app is not built, so `/` serves no page: run `npm run build`');
  http.setNotFoundHandler((request, reply) => {
    if (web?.serves(request)) return web.sendPage(reply);
    return sendProblem(reply, {
      type: '/problems/not-found',
      title: 'No such route',
      status: 404,
      detail: `${request.method} ${request.url} does not exist`,
      code: 'ROUTE_NOT_FOUND',
    });
  });

  // Size limits are enforced by staging (one byte over the limit is a 413), not by throwing mid-part.
  await http.register(multipart, { throwFileSizeLimit: false });
  await http.register(swagger, {
    openapi: {
      info: { title: 'imagegram', version: '0.1.0', description: 'Image-sharing backend: uploads, images, posts, comments, feed.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, adminToken: { type: 'apiKey', in: 'header', name: 'X-Access-Token' } } },
    },
  });
  await http.register(swaggerUi, { routePrefix: '/docs' });
  http.addSchema(ProblemSchema);

  // Limits are opted into per route (`config.rateLimit`); reads stay unlimited by default.
  await http.register(rateLimit, { global: false, errorResponseBuilder: rateLimitedError, ...sharedCounters(app) });
  const writes = writeRateLimit(app.config.rateLimitPerMinute);
  const logins = loginRateLimit(app.config.loginRateLimitPerMinute);

  const { services, config } = app;
  await http.register(healthRoutes, { store: app.store, blobs: app.blobs, staging: app.staging, metrics });
  await http.register(accountRoutes, { accounts: services.accounts, auth, writeRateLimit: writes, loginRateLimit: logins });
  await http.register(meRoutes, { accounts: services.accounts, images: services.images, posts: services.posts, auth, passwordRateLimit: logins });
  await http.register(imageRoutes, {
    images: services.images,
    ingest: services.ingest,
    uploadImage: services.uploadImage,
    auth,
    writeRateLimit: writes,
    maxUploadBytes: config.maxUploadBytes,
  });
  await http.register(postRoutes, {
    accounts: services.accounts,
    posts: services.posts,
    createPost: services.createPost,
    feed: services.feed,
    ingest: services.ingest,
    auth,
    pageCache: app.pageCache,
    writeRateLimit: writes,
    maxUploadBytes: config.maxUploadBytes,
  });
  await http.register(commentRoutes, { comments: services.comments, addComment: services.addComment, auth, writeRateLimit: writes });
  await http.register(tusRoutes, { uploads: services.uploads, auth, cors, ...app.tus, maxUploadBytes: config.maxUploadBytes, writeRateLimit: writes });
  await http.register(uploadLinkRoutes, {
    links: services.uploadLinks,
    ingest: services.ingest,
    auth,
    writeRateLimit: writes,
    maxUploadBytes: config.maxUploadBytes,
  });
  await http.register(adminRoutes, { events: services.events, jobs: services.jobs, stats: services.stats, auth });
  await http.register(graphqlPlugin, {
    services,
    auth,
    config: config.graphql,
    maxUploadBytes: config.maxUploadBytes,
    writeRateLimit: writes,
    passwordRateLimit: logins,
    pageCache: app.pageCache,
  });
  http.get('/openapi.json', { schema: { hide: true } }, async () => http.swagger());
  if (web) await http.register(webAppRoutes, { web });
  return http;
}

/** A hop count as the function proxy-addr would build from it (Fastify's types accept no number). */
function trustProxy(setting: boolean | number | string): boolean | string | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting;
}

function localBlobRoot(blobStoreUrl: string): string[] {
  return blobStoreUrl.startsWith('file:') ? [blobStoreUrl.slice('file:'.length)] : [];
}

/**
 * With Redis, every process counts against one budget (the REST routes and GraphQL's
 * `createRateLimit` alike, since both use the plugin's store). If Redis fails, the request goes
 * through (fail open): the limits guard cost, not correctness, and refusing every write during a
 * cache outage would turn it into a full one. The connection logs the outage; it cannot hang the
 * request (see connectRedis).
 */
function sharedCounters(app: App) {
  if (!app.redis) return {};
  return { redis: app.redis, nameSpace: `${app.config.redisKeyPrefix}rate-limit:`, skipOnError: true };
}
