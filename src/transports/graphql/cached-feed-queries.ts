import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type GraphQLSchema, printSchema } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { PersistedQueryProvider } from 'mercurius';
import type { FeedService } from '../../core/posts/feed-service.js';
import type { PageCache } from '../../ports/page-cache.js';
import { RecentFeedPages } from '../recent-feed-pages.js';
import { feedSpansOf } from './context.js';
import { assertDocumentWithinLimits } from './document-limits.js';
import { assertGraphqlRequest } from './request-envelope.js';
import { feedDocumentOf, type FeedDocument } from './feed-documents.js';
import { etagOf, hasCredentials, setCachingHeaders } from './http-caching.js';
import { atGraphqlPath, responseMediaType, type GraphqlMediaType } from './media-types.js';

export interface CachedFeedQueriesOptions {
  pageCache: PageCache;
  feed: Pick<FeedService, 'version' | 'unchangedSince'>;
  /** The store Mercurius resolves persisted-query hashes from: a hash means the same text in both. */
  persistedQueries: PersistedQueryProvider;
  /** What else decides an answer besides the document and the data: the limits it was checked against. */
  limits: { maxDepth: number; maxCost: number };
  /** `max-age` of public answers, for the headers of answers sent from the cache. */
  maxAgeSeconds: number;
}

/** A stored answer: the body Mercurius sent and its ETag, computed once per miss, not per hit. */
interface Answer {
  etag: string;
  body: string;
}

/** One miss being executed; requests for the same key meanwhile wait for its answer. */
interface Render {
  key: string;
  /** The key without the version, and the version it was executed at: for RecentFeedPages. */
  query: string;
  version: number;
  answer: Promise<Answer | undefined>;
  settle(answer: Answer | undefined): void;
  succeeded: boolean;
}

const json = 'application/json; charset=utf-8';

/**
 * Anonymous GET queries that read only the feed (feed-documents.ts) are answered from the page
 * cache the REST feed uses, under a key embedding the feed version every post and comment write
 * bumps: a hit is as exact as a fresh execution, and costs no SQL while the version is remembered
 * (RememberedFeedVersion), else only the version read. The stored body
 * is the exact bytes Mercurius sent, so hits and misses differ in nothing but timing (the HTTP
 * caching headers are set the same way). Never from the cache: requests with credentials (a key
 * must never mix viewers), POSTs, anything else Mercurius executes; only clean 200 answers are stored.
 * The verdict on a request URL is remembered: a persisted-query hash once resolved is answered
 * here even after Mercurius's store forgets it (a hash names one text for good).
 * Register after media-type negotiation and before cacheAnonymousReads, whose 304 would empty the
 * body this stores.
 */
export function serveFeedQueriesFromCache(scope: FastifyInstance, options: CachedFeedQueriesOptions): void {
  const { pageCache, feed, persistedQueries } = options;
  const renders = new Map<string, Render>();
  const ownRender = new WeakMap<FastifyRequest, Render>();
  let documents = documentsOf(null, options.limits);
  const answers = new StoredAnswers();
  const recent = new RecentFeedPages(feed);

  // As early as the media type is known: a hit skips validation and the handler's hooks.
  scope.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'GET' || !atGraphqlPath(request) || mayIdentifyViewer(request)) return;
    // Mercurius may swap its schema at run time; a document is judged against the one in use.
    if (documents.schema !== scope.graphql.schema) documents = documentsOf(scope.graphql.schema, options.limits);
    // Clients repeat a few URLs: the verdict on one is remembered, so a hit neither checks nor
    // parses the parameters again.
    const judging = documents; // the verdict is remembered with the schema it was judged against
    let query = judging.queryAt(request.url);
    if (query === undefined) {
      query = await feedQueryOf(request, judging, persistedQueries);
      if (query === undefined) return;
      judging.rememberQueryAt(request.url, query);
    }
    if (!query) return;

    let version: number;
    try {
      version = await feed.version();
    } catch {
      return; // Mercurius runs it and reports the failure as it would have
    }
    const type = responseMediaType(request);
    const key = query.keyOf(version, type);
    let answer = answers.answerOf(key, await pageCache.get(key));
    if (!answer) {
      const running = renders.get(key);
      // A failed render is not shared: this request then runs on its own and reports its own errors.
      if (running) answer = await running.answer;
      if (running && !answer) return;
    }
    if (!answer) {
      // The answer of an earlier version, if no write since touched the pages it read.
      const entry = recent.reuse(query.withoutVersion(type), version);
      answer = answers.answerOf(key, entry);
      if (entry !== undefined && answer) await pageCache.set(key, entry);
    }
    if (answer) {
      // A registering persisted query is remembered as if Mercurius had executed it.
      if (query.registers) await persistedQueries.saveQuery?.(query.registers.hash, query.registers.text).catch(() => {});
      return sendCached(request, reply, answer, options.maxAgeSeconds);
    }
    let settle!: (answer: Answer | undefined) => void;
    const render: Render = {
      key,
      query: query.withoutVersion(type),
      version,
      answer: new Promise((resolve) => (settle = resolve)),
      settle,
      succeeded: false,
    };
    renders.set(key, render);
    ownRender.set(request, render);
    // However this request ends (sent, failed, cut off), the requests waiting on it move on.
    reply.raw.once('close', () => release(request, undefined));
  });

  // Only a data-only answer is stored: one with errors may be transient (an unavailable database).
  scope.addHook('preSerialization', async (request, _reply, payload) => {
    const render = ownRender.get(request);
    if (render) render.succeeded = typeof payload === 'object' && payload !== null && !('errors' in payload && payload.errors !== undefined);
    return payload;
  });

  // A callback, not an async hook: every hit passes through here, and only a miss has work to do.
  scope.addHook('onSend', (request, reply, payload, done) => {
    const render = ownRender.get(request);
    if (!render) return done(null, payload);
    const entry =
      render.succeeded && reply.statusCode === 200 && typeof payload === 'string'
        ? answers.entryOf(String(reply.getHeader('content-type')), payload)
        : undefined;
    if (entry === undefined) {
      release(request, undefined);
      return done(null, payload);
    }
    // Waiters get the answer at once; the render is forgotten once the cache holds it.
    render.settle(answers.answerOf(render.key, entry));
    // Only an answer that read feed pages is known to depend on nothing else.
    const spans = feedSpansOf(request);
    if (spans?.length) recent.remember(render.query, render.version, spans, entry);
    const finish = () => {
      release(request, undefined);
      done(null, payload);
    };
    pageCache.set(render.key, entry).then(finish, finish);
  });

  /** Ends `request`'s render (once): waiters get `answer`, later requests look in the cache. */
  const release = (request: FastifyRequest, answer: Answer | undefined) => {
    const render = ownRender.get(request);
    if (!render) return;
    ownRender.delete(request);
    render.settle(answer); // no-op when already settled with the answer
    if (renders.get(render.key) === render) renders.delete(render.key);
  };
}

/**
 * A feed query as its key needs it: the document and the variables that matter, and the hash it
 * registers as a persisted query, if it does.
 */
interface FeedQuery {
  /** The page-cache key of this query's answer at feed `version`, in `type`. */
  keyOf(version: number, type: GraphqlMediaType): string;
  /** The same without the version: what names the answer across versions. */
  withoutVersion(type: GraphqlMediaType): string;
  registers?: { hash: string; text: string };
}

/**
 * The feed query `request` (a GET at the GraphQL path) asks, false for anything else (which is
 * left to Mercurius); undefined when the verdict may change (a persisted hash not known yet), so
 * it must not be remembered.
 */
async function feedQueryOf(request: FastifyRequest, documents: Documents, persisted: PersistedQueryProvider): Promise<FeedQuery | false | undefined> {
  try {
    assertGraphqlRequest(request);
  } catch {
    return false; // refused later on the usual path, in the usual words
  }
  const params = request.query as { query?: string; operationName?: string; variables?: string; extensions?: string };
  const source = await queryText(params, persisted);
  if (source === undefined) return params.query === undefined ? undefined : false;
  const document = documents.feedDocument(source.text, params.operationName);
  if (!document) return false;
  const variables = variablesKey(document, params.variables);
  // The last key built is kept: the same string each time, so maps find it without hashing it again.
  let last = { version: Number.NaN, type: '', key: '' };
  return {
    keyOf(version, type) {
      if (last.version !== version || last.type !== type) last = { version, type, key: `graphql-feed:${version}:${document.id}:${type}${variables}` };
      return last.key;
    },
    withoutVersion: (type) => `${document.id}:${type}${variables}`,
    ...(source.persistedHash && { registers: { hash: source.persistedHash, text: source.text } }),
  };
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
async function queryText(
  params: { query?: string; extensions?: string },
  persisted: PersistedQueryProvider,
): Promise<{ text: string; persistedHash?: string } | undefined> {
  const extensions =
    params.extensions === undefined ? undefined : (JSON.parse(params.extensions) as { persistedQuery?: { version: number; sha256Hash: string } } | null);
  const hashed = extensions?.persistedQuery;
  if (!hashed) return params.query === undefined ? undefined : { text: params.query };
  if (hashed.version !== 1) return undefined;
  if (params.query === undefined) {
    const text = await persisted.getQueryFromHash(hashed.sha256Hash);
    return text === undefined ? undefined : { text };
  }
  return persisted.getHashForQuery?.(params.query) === hashed.sha256Hash ? { text: params.query, persistedHash: hashed.sha256Hash } : undefined;
}

/**
 * Page-cache values (an answer's ETag, a newline, its body) and the answers in them. Both ways the
 * text is copied into flat strings: V8 keeps a concatenation (how Mercurius's serializer builds a
 * body) as a tree of pieces and a slice as a view into another string, and Node measures and
 * writes either slowly, again on every hit (measured: a third of a hit's CPU). The answers of
 * recent values are kept, so hits on an unchanged value copy nothing.
 */
class StoredAnswers {
  private readonly recent = new LRUCache<string, { entry: string; answer: Answer }>({
    max: 256,
    maxSize: 16 * 1024 * 1024,
    sizeCalculation: ({ answer }) => Math.max(answer.body.length, 1),
  });

  entryOf(contentType: string, body: string): string {
    return flat(`${etagOf(contentType, body)}\n${body}`);
  }

  /** The answer in `entry`, stored under `key`; undefined (a miss) for anything else. */
  answerOf(key: string, entry: string | undefined): Answer | undefined {
    if (entry === undefined) return undefined;
    const known = this.recent.get(key);
    // The whole value is compared: another process may have stored another body under the key.
    if (known?.entry === entry) return known.answer;
    const newline = entry.indexOf('\n');
    if (newline <= 0) return undefined;
    const answer = { etag: flat(entry.slice(0, newline)), body: flat(entry.slice(newline + 1)) };
    this.recent.set(key, { entry, answer });
    return answer;
  }
}

function flat(text: string): string {
  return Buffer.from(text).toString();
}

/** Sends a stored answer the way Mercurius sends a fresh one: same status, type and caching headers. */
function sendCached(request: FastifyRequest, reply: FastifyReply, answer: Answer, maxAgeSeconds: number): FastifyReply {
  reply.code(200);
  setCachingHeaders(request, reply, maxAgeSeconds, false, answer.etag);
  return reply.type(json).send(answer.body);
}

/**
 * The variables' part of the key: the declared ones only, so junk cannot split (or flood) the
 * cache; none (most feed queries) costs nothing, long ones are hashed to bound the key.
 */
function variablesKey(document: CachedDocument, text: string | undefined): string {
  if (document.variableNames.length === 0 || text === undefined) return '';
  const sent = JSON.parse(text) as Record<string, unknown> | null;
  if (sent === null) return '';
  const declared = JSON.stringify(document.variableNames.filter((name) => Object.hasOwn(sent, name)).map((name) => [name, canonical(sent[name])]));
  return `:${declared.length > 200 ? createHash('sha256').update(declared).digest('base64url') : declared}`;
}

/** `value` with object keys sorted, so equal input objects give equal keys. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((name) => [name, canonical((value as Record<string, unknown>)[name])]),
  );
}

/** A feed document as the key needs it. */
interface CachedDocument {
  /** Digest of the schema and limits in use, the normalised document and the operation name. */
  id: string;
  variableNames: readonly string[];
}

type Documents = ReturnType<typeof documentsOf>;

/** Bound on the URLs whose verdicts are remembered (their lengths summed). */
const rememberedUrlChars = 4 * 1024 * 1024;

/**
 * Verdicts on documents by their text, and on whole request URLs (clients repeat a few of each),
 * for one schema. The schema and the limits are in each id, which keeps processes with another
 * schema or other limits (a rolling deploy sharing Redis) apart.
 */
function documentsOf(schema: GraphQLSchema | null, limits: { maxDepth: number; maxCost: number }) {
  // A plain Map, emptied whole when full: its lookup is on every hit, where an LRU's upkeep shows.
  const queries = new Map<string, FeedQuery | false>();
  let queriesChars = 0;
  const verdicts = new LRUCache<string, CachedDocument | false>({
    max: 1024,
    maxSize: 4 * 1024 * 1024,
    sizeCalculation: (_value, key) => Math.max(key.length, 1),
  });
  const fingerprint = schema ? createHash('sha256').update(printSchema(schema)).update(JSON.stringify(limits)).digest('base64url') : '';
  const cachedDocument = (document: FeedDocument, operationName: string | undefined): CachedDocument => ({
    id: createHash('sha256')
      .update(JSON.stringify([fingerprint, document.hash, operationName ?? null]))
      .digest('base64url'),
    variableNames: document.variableNames,
  });
  return {
    schema,
    /** The verdict remembered on request URL `url` (path and query string); undefined if none is. */
    queryAt(url: string): FeedQuery | false | undefined {
      return queries.get(url);
    },
    rememberQueryAt(url: string, query: FeedQuery | false): void {
      if (queriesChars + url.length > rememberedUrlChars) {
        queries.clear();
        queriesChars = 0;
      }
      queries.set(url, query);
      queriesChars += url.length;
    },
    feedDocument(source: string, operationName: string | undefined): CachedDocument | null {
      if (!schema) return null;
      // Length-prefixed: no operationName and text can pass for another pair.
      const text = `${operationName?.length ?? -1}:${operationName ?? ''}${source}`;
      let verdict = verdicts.get(text);
      if (verdict === undefined) {
        const document = judge(schema, source, operationName);
        verdict = document && cachedDocument(document, operationName);
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
