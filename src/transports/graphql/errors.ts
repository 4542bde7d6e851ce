import type { FastifyRequest } from 'fastify';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError, type ErrorKind } from '../../core/errors.js';
import { asKnownFailure, retryAfterSecondsOf, scrubDetail } from '../problem.js';
import { graphqlResponseJson, responseMediaType } from './media-types.js';
import { GraphqlRequestError } from './request-errors.js';

/**
 * The one place an error becomes a GraphQL error: `extensions.code` is the category clients of
 * most GraphQL servers already know (Apollo's names), `extensions.errorCode` our stable code from
 * the registry in src/core/errors.ts (or a GraphQL-transport code listed in docs/errors.md).
 */
const codeOfKind: Record<ErrorKind, string> = {
  invalid: 'BAD_USER_INPUT',
  unprocessable: 'BAD_USER_INPUT',
  range_not_satisfiable: 'BAD_USER_INPUT',
  unauthenticated: 'UNAUTHENTICATED',
  forbidden: 'FORBIDDEN',
  not_found: 'NOT_FOUND',
  gone: 'NOT_FOUND',
  conflict: 'CONFLICT',
  too_large: 'PAYLOAD_TOO_LARGE',
  unsupported: 'UNSUPPORTED_MEDIA_TYPE',
  rate_limited: 'RATE_LIMITED',
  unavailable: 'SERVICE_UNAVAILABLE',
};

/**
 * Kinds that are HTTP conditions rather than GraphQL outcomes: their status is kept under either
 * media type (a 429's Retry-After means something to every client and proxy).
 */
const httpStatusOfKind: Partial<Record<ErrorKind, number>> = { too_large: 413, rate_limited: 429, unavailable: 503 };

/** Under application/graphql-response+json, who may not issue the request is told so (GraphQL over HTTP). */
const refusalStatusOfKind: Partial<Record<ErrorKind, number>> = { unauthenticated: 401, forbidden: 403 };

/**
 * Mercurius and Fastify errors that mean the HTTP request is not a well-formed GraphQL-over-HTTP
 * request (or may not run at all), by their `code`: 4xx under either media type.
 */
const requestErrors: Record<string, { code: string; errorCode: string; status: number }> = {
  MER_ERR_GQL_CSRF_PREVENTION: { code: 'BAD_REQUEST', errorCode: 'CSRF_PREVENTED', status: 400 },
  MER_ERR_METHOD_NOT_ALLOWED: { code: 'BAD_REQUEST', errorCode: 'METHOD_NOT_ALLOWED', status: 405 },
  MER_ERR_GQL_PERSISTED_QUERY_MISMATCH: { code: 'BAD_USER_INPUT', errorCode: 'PERSISTED_QUERY_MISMATCH', status: 400 },
  MER_ERR_GQL_PERSISTED_QUERY_NOT_SUPPORTED: { code: 'PERSISTED_QUERY_NOT_SUPPORTED', errorCode: 'PERSISTED_QUERY_NOT_SUPPORTED', status: 400 },
  MER_ERR_GQL_VALIDATION: { code: 'BAD_REQUEST', errorCode: 'BAD_REQUEST', status: 400 },
  FST_ERR_VALIDATION: { code: 'BAD_REQUEST', errorCode: 'BAD_REQUEST', status: 400 },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'BAD_REQUEST', errorCode: 'MALFORMED_JSON', status: 400 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'BAD_REQUEST', errorCode: 'MALFORMED_JSON', status: 400 },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', errorCode: 'BODY_TOO_LARGE', status: 413 },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'BAD_REQUEST', errorCode: 'UNSUPPORTED_MEDIA_TYPE', status: 415 },
};

/**
 * Refusals of a well-formed request, GraphQL request errors in all but name (the client cannot run
 * this document yet): 200 under application/json, 400 under the newer type.
 */
const documentRefusals: Record<string, { code: string; errorCode: string }> = {
  MER_ERR_GQL_PERSISTED_QUERY_NOT_FOUND: { code: 'PERSISTED_QUERY_NOT_FOUND', errorCode: 'PERSISTED_QUERY_NOT_FOUND' },
};

interface Execution {
  data?: Record<string, unknown> | null;
  errors: readonly GraphQLError[];
}

interface Reply {
  log: Log;
  request?: FastifyRequest;
  header(name: string, value: string): unknown;
}

interface Log {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

/**
 * How an error bears on the status of a request refused before execution: `malformed` (not a
 * well-formed GraphQL-over-HTTP request) and `http` (a rate limit, an outage) keep their status
 * under either media type; `request` (a GraphQL request error: parse, validation, limits,
 * operation, variables) is 200 under application/json and its status under the newer type.
 * Once execution started, only `malformed` can still move the status off 200.
 */
type Classified = { formatted: GraphQLFormattedError; status: number; kind: 'malformed' | 'http' | 'request' | 'internal' };

/**
 * Mercurius's `errorFormatter`: the response body's errors and the HTTP status, by the GraphQL-over-
 * HTTP spec for the media type the request negotiated (media-types.ts). A request refused before
 * execution has no `data` entry (GraphQL spec, "Response Format"); once execution started `data`
 * is there, possibly null, and the status is 200.
 */
export function formatErrors(execution: Execution, context: { reply?: Reply; app: { log: Log } }) {
  const log = context.reply?.log ?? context.app.log;
  const modern = responseMediaType(context.reply?.request) === graphqlResponseJson;
  const executed = 'data' in execution;
  const classified = execution.errors.flatMap(unwrapValidationErrors).map((error) => toGraphqlError(error, log, context.reply, modern));
  const errors = classified.map((one) => one.formatted);
  const worst = (kinds: Classified['kind'][]) => Math.max(0, ...classified.filter((one) => kinds.includes(one.kind)).map((one) => one.status));

  if (executed) {
    // A file part cut off while a resolver streamed it is the client's malformed request, noticed
    // late: 4xx, unless some of the data was produced (then 2xx is a MUST for the newer type).
    const malformed = execution.data === null || execution.data === undefined ? worst(['malformed']) : 0;
    return { statusCode: malformed || 200, response: { data: execution.data ?? null, errors } };
  }
  const failed = worst(['malformed', 'http', 'internal']);
  // Without `data` the newer type MUST be 4xx/5xx; legacy JSON clients get 200 for a GraphQL request error.
  const statusCode = failed || (modern ? worst(['request']) || 400 : 200);
  return { statusCode, response: { errors } };
}

/**
 * Mercurius wraps a failed request's errors (validation, GET mutation…) in one error carrying them
 * in `errors`; a plain inner error is classified by its own code, else by the wrapper's.
 */
function unwrapValidationErrors(error: GraphQLError): GraphQLError[] {
  const outer = error.originalError;
  const inner = (outer as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(inner)) return [error];
  return inner.map((e: Error) => (e instanceof GraphQLError ? e : new GraphQLError(e.message, { originalError: 'code' in e ? e : (outer ?? e) })));
}

function toGraphqlError(error: GraphQLError, log: Log, reply: Reply | undefined, modern: boolean): Classified {
  // A full disk or exhausted descriptors surfacing from a library are the server's state, as on REST.
  const original = error.originalError && asKnownFailure(error.originalError);
  const json = error.toJSON();
  const as = (extensions: Record<string, unknown>, message = error.message): GraphQLFormattedError => ({ ...json, message, extensions });

  if (original instanceof GraphqlRequestError) {
    log.info({ code: original.errorCode, detail: original.message }, 'graphql request refused');
    return { formatted: as({ ...original.details, code: original.category, errorCode: original.errorCode }), status: original.status, kind: 'malformed' };
  }
  if (original instanceof AppError) {
    // Before execution (a rate limit, for instance) or in a resolver: the same extensions either way.
    log.info({ code: original.code, detail: original.message }, 'graphql request refused');
    // Same detail and Retry-After as the REST problem for this code (no server paths in either).
    const formatted = as({ ...original.details, code: codeOfKind[original.kind], errorCode: original.code }, scrubDetail(original.message));
    const retryAfter = retryAfterSecondsOf(original.code);
    if (retryAfter !== undefined && reply) reply.header('retry-after', String(retryAfter));
    const httpStatus = httpStatusOfKind[original.kind];
    if (httpStatus) return { formatted, status: httpStatus, kind: 'http' };
    return { formatted, status: (modern && refusalStatusOfKind[original.kind]) || 400, kind: 'request' };
  }
  if (original === undefined || original === null || original instanceof GraphQLError) {
    // Parse, validation and limit errors, or variables that do not fit their types; during
    // execution, a resolver's GraphQLError (the request's status then ignores it).
    const given = error.extensions ?? {};
    if (typeof given.code === 'string') return { formatted: as({ ...given }), status: 400, kind: 'request' };
    const code = /^Syntax Error/.test(error.message)
      ? 'GRAPHQL_PARSE_FAILED'
      : /^(Variable|Argument) "/.test(error.message)
        ? 'BAD_USER_INPUT'
        : 'GRAPHQL_VALIDATION_FAILED';
    return { formatted: as({ code, errorCode: code }), status: 400, kind: 'request' };
  }
  const errorCode = (original as { code?: string }).code ?? '';
  const known = requestErrors[errorCode];
  // RFC 9110 §15.5.6: a 405 names the methods that would work.
  if (known?.status === 405) reply?.header('allow', 'POST');
  if (known) return { formatted: as({ code: known.code, errorCode: known.errorCode }), status: known.status, kind: 'malformed' };
  const refusal = documentRefusals[errorCode];
  if (refusal) return { formatted: as({ code: refusal.code, errorCode: refusal.errorCode }), status: 400, kind: 'request' };
  // An HTTP refusal from a plugin inside this scope (an http-errors style error with a 4xx
  // `statusCode`, such as @fastify/send's 416) keeps its 4xx: it is the request's fault, not ours.
  const httpStatus = (original as { statusCode?: unknown }).statusCode;
  if (typeof httpStatus === 'number' && httpStatus >= 400 && httpStatus < 500) {
    return { formatted: as({ code: 'BAD_REQUEST', errorCode: 'BAD_REQUEST' }), status: httpStatus, kind: 'http' };
  }
  // A bug on our side: logged with the request id, never shown (it may carry paths or SQL).
  log.error({ err: original }, 'graphql request failed');
  return {
    formatted: as({ code: 'INTERNAL_SERVER_ERROR', errorCode: 'INTERNAL_ERROR' }, 'Something went wrong on our side; it has been logged.'),
    status: 500,
    kind: 'internal',
  };
}
