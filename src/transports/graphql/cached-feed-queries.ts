import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type GraphQLSchema, printSchema } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { PersistedQueryProvider } from 'mercurius';
import type { FeedService } from '../../core/posts/feed-service.js';
import type { PageCache } from '../../ports/page-cache.js';
import { assertDocumentWithinLimits } from './document-limits.js';
import { feedDocumentOf, type FeedDocument } from './feed-documents.js';
import { hasCredentials, setCachingHeaders } from './http-caching.js';
import { responseMediaType } from './media-types.js';

export interface CachedFeedQueriesOptions {
  path: string;
  pageCache: PageCache;
  feed: Pick<FeedService, 'version'>;
  /** The store Mercurius resolves persisted-query hashes from: a hash means the same text in both. */
  persistedQueries: PersistedQueryProvider;
  /** What else decides an answer besides the document and the data: the limits it was checked against. */
  limits: { maxDepth: number; maxCost: number };
  /** `max-age` of public answers, for the headers of answers sent from the cache. */
  maxAgeSeconds: number;
}

/** One miss being executed; requests for the same key meanwhile wait for its body. */
interface Render {
  key: string;
  body: Promise<string | undefined>;
  settle(body: string | undefined): void;
  succeeded: boolean;
}

const json = 'application/json; charset=utf-8';

/**
 * Anonymous GET queries that read only the feed (feed-documents.ts) are answered from the page
 * cache the REST feed uses, under a key embedding the feed version every post and comment write
 * bumps: a hit is as exact as a fresh execution, and costs only the version read. The stored body
 * is the exact bytes Mercurius sent, so hits and misses differ in nothing but timing (the HTTP
 * caching headers are set the same way). Never from the cache: requests with credentials (a key
 * must never mix viewers), POSTs, anything else Mercurius executes; only clean 200 answers are stored.
 * Register after media-type negotiation and before cacheAnonymousReads, whose 304 would empty the
 * body this stores.
 */
export function serveFeedQueriesFromCache(scope: FastifyInstance, options: CachedFeedQueriesOptions): void {
  const { path, pageCache, feed, persistedQueries } = options;
  const renders = new Map<string, Render>();
  const ownRender = new WeakMap<FastifyRequest, Render>();
  let documents = documentsOf(null, options.limits);

  scope.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url !== path || request.method !== 'GET' || request.validationError || mayIdentifyViewer(request)) return;
    const params = request.query as { query?: string; operationName?: string; variables?: string; extensions?: string };
    const source = await queryText(params, persistedQueries);
    if (source === undefined) return;
    // Mercurius may swap its schema at run time; a document is judged against the one in use.
    if (documents.schema !== scope.graphql.schema) documents = documentsOf(scope.graphql.schema, options.limits);
    const document = documents.feedDocument(source.text, params.operationName);
    if (!document) return;

    let version: number;
    try {
      version = await feed.version();
    } catch {
      return; // Mercurius runs it and reports the failure as it would have
    }
    const key = `graphql-feed:${version}:${keyDigest(documents.fingerprint, document, params, responseMediaType(request))}`;
    const send = async (body: string) => {
      // A registering persisted query is remembered as if Mercurius had executed it.
      if (source.persistedHash) await persistedQueries.saveQuery?.(source.persistedHash, source.text).catch(() => {});
      return sendCached(request, reply, body, options.maxAgeSeconds);
    };
    const cached = await pageCache.get(key);
    if (cached !== undefined) return send(cached);
    const running = renders.get(key);
    if (running) {
      const body = await running.body;
      // A failed render is not shared: this request runs on its own and reports its own errors.
      return body === undefined ? undefined : send(body);
    }
    let settle!: (body: string | undefined) => void;
    const render: Render = { key, body: new Promise((resolve) => (settle = resolve)), settle, succeeded: false };
    renders.set(key, render);
    ownRender.set(request, render);
  });

  // Only a data-only answer is stored: one with errors may be transient (an unavailable database).
  scope.addHook('preSerialization', async (request, _reply, payload) => {
    const render = ownRender.get(request);
    if (render) render.succeeded = typeof payload === 'object' && payload !== null && !('errors' in payload && payload.errors !== undefined);
    return payload;
  });

  scope.addHook('onSend', async (request, reply, payload) => {
    const render = ownRender.get(request);
    if (!render) return payload;
    ownRender.delete(request);
    const body = render.succeeded && reply.statusCode === 200 && typeof payload === 'string' ? payload : undefined;
    render.settle(body);
    try {
      if (body !== undefined) await pageCache.set(render.key, body);
    } finally {
      forget(render);
    }
    return payload;
  });

  // Whatever ends a request without onSend must still release the requests waiting on its render.
  const abandon = async (request: FastifyRequest) => {
    const render = ownRender.get(request);
    if (!render) return;
    ownRender.delete(request);
    render.settle(undefined);
    forget(render);
  };
  const forget = (render: Render) => {
    if (renders.get(render.key) === render) renders.delete(render.key);
  };
  scope.addHook('onRequestAbort', abandon);
  scope.addHook('onResponse', abandon);
}

/**
 * Credentials are never looked up here: a session token, the admin token, or a cookie (none is
 * issued today, but a future cookie session must not be answered from an anonymous key).
 */
function mayIdentifyViewer(request: FastifyRequest): boolean {
  return hasCredentials(request) || request.headers.cookie !== undefined;
}

/**
 * The document text, resolved from the persisted-query store for a hash-only request; undefined
 * when only Mercurius can answer (an unknown hash, a hash that does not match the text sent).
 */
async function queryText(params: { query?: string; extensions?: string }, persisted: PersistedQueryProvider): Promise<{ text: string; persistedHash?: string } | undefined> {
  const extensions = params.extensions === undefined ? undefined : (JSON.parse(params.extensions) as { persistedQuery?: { version: number; sha256Hash: string } } | null);
  const hashed = extensions?.persistedQuery;
  if (!hashed) return params.query === undefined ? undefined : { text: params.query };
  if (hashed.version !== 1) return undefined;
  if (params.query === undefined) {
    const text = await persisted.getQueryFromHash(hashed.sha256Hash);
    return text === undefined ? undefined : { text };
  }
  return persisted.getHashForQuery?.(params.query) === hashed.sha256Hash ? { text: params.query, persistedHash: hashed.sha256Hash } : undefined;
}

/** Sends a stored body the way Mercurius sends a fresh one: same status, type and caching headers. */
function sendCached(request: FastifyRequest, reply: FastifyReply, body: string, maxAgeSeconds: number): FastifyReply {
  reply.code(200);
  setCachingHeaders(request, reply, maxAgeSeconds, false);
  return reply.type(json).send(body);
}

/** The rest of the key: what the answer depends on besides the feed version. */
function keyDigest(fingerprint: string, document: FeedDocument, params: { operationName?: string; variables?: string }, mediaType: string): string {
  const sent = params.variables === undefined ? null : (JSON.parse(params.variables) as Record<string, unknown> | null);
  // Only declared variables count, so junk ones cannot split (or flood) the cache.
  const variables = document.variableNames.filter((name) => sent !== null && Object.hasOwn(sent, name)).map((name) => [name, canonical(sent![name])]);
  const parts = [fingerprint, document.hash, params.operationName ?? null, variables, mediaType];
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}

/** `value` with object keys sorted, so equal input objects give equal keys. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.keys(value).sort().map((name) => [name, canonical((value as Record<string, unknown>)[name])]));
}

/**
 * Verdicts on documents by their text (clients repeat a few), for one schema. The fingerprint
 * keeps processes with another schema or other limits (a rolling deploy sharing Redis) apart.
 */
function documentsOf(schema: GraphQLSchema | null, limits: { maxDepth: number; maxCost: number }) {
  const verdicts = new LRUCache<string, FeedDocument | false>({ max: 1024, maxSize: 4 * 1024 * 1024, sizeCalculation: (_value, key) => Math.max(key.length, 1) });
  const fingerprint = schema ? createHash('sha256').update(printSchema(schema)).update(JSON.stringify(limits)).digest('base64url') : '';
  return {
    schema,
    fingerprint,
    feedDocument(source: string, operationName: string | undefined): FeedDocument | null {
      if (!schema) return null;
      // Length-prefixed: no operationName and text can pass for another pair.
      const text = `${operationName?.length ?? -1}:${operationName ?? ''}${source}`;
      let verdict = verdicts.get(text);
      if (verdict === undefined) {
        verdict = judge(schema, source, operationName);
        verdicts.set(text, verdict);
      }
      return verdict || null;
    },
  };
}

function judge(schema: GraphQLSchema, source: string, operationName: string | undefined): FeedDocument | false {
  try {
    // The same limits as every execution: a document refused there is left to Mercurius to refuse.
    return feedDocumentOf(schema, assertDocumentWithinLimits(source, operationName), operationName) ?? false;
  } catch {
    return false;
  }
}
