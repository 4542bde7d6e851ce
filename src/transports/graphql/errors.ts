import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError, type ErrorKind } from '../../core/errors.js';
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

/** HTTP status when a request fails before execution (GraphQL over HTTP: a request error). */
const statusOfKind: Partial<Record<ErrorKind, number>> = { too_large: 413, rate_limited: 429, unavailable: 503 };

/** Mercurius and plugin errors that stop a request before execution, by their `code`. */
const requestErrors: Record<string, { code: string; errorCode: string; status: number }> = {
  MER_ERR_GQL_CSRF_PREVENTION: { code: 'BAD_REQUEST', errorCode: 'CSRF_PREVENTED', status: 400 },
  MER_ERR_METHOD_NOT_ALLOWED: { code: 'BAD_REQUEST', errorCode: 'METHOD_NOT_ALLOWED', status: 405 },
  MER_ERR_GQL_PERSISTED_QUERY_NOT_FOUND: { code: 'PERSISTED_QUERY_NOT_FOUND', errorCode: 'PERSISTED_QUERY_NOT_FOUND', status: 200 },
  MER_ERR_GQL_PERSISTED_QUERY_MISMATCH: { code: 'BAD_USER_INPUT', errorCode: 'PERSISTED_QUERY_MISMATCH', status: 400 },
  MER_ERR_GQL_PERSISTED_QUERY_NOT_SUPPORTED: { code: 'PERSISTED_QUERY_NOT_SUPPORTED', errorCode: 'PERSISTED_QUERY_NOT_SUPPORTED', status: 400 },
  MER_ERR_GQL_VALIDATION: { code: 'BAD_REQUEST', errorCode: 'BAD_REQUEST', status: 400 },
  FST_ERR_VALIDATION: { code: 'BAD_REQUEST', errorCode: 'BAD_REQUEST', status: 400 },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'BAD_REQUEST', errorCode: 'MALFORMED_JSON', status: 400 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'BAD_REQUEST', errorCode: 'MALFORMED_JSON', status: 400 },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', errorCode: 'BODY_TOO_LARGE', status: 413 },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'BAD_REQUEST', errorCode: 'UNSUPPORTED_MEDIA_TYPE', status: 415 },
};

interface Execution {
  data?: unknown;
  errors: readonly GraphQLError[];
}

interface Reply {
  log: Log;
  header(name: string, value: string): unknown;
}

interface Log {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** Mercurius's `errorFormatter`: the response body's errors and the HTTP status. */
export function formatErrors(execution: Execution, context: { reply?: Reply; app: { log: Log } }) {
  const log = context.reply?.log ?? context.app.log;
  let status = 200;
  let malformedRequest = 0;
  const errors = execution.errors.flatMap(unwrapValidationErrors).map((error) => {
    const { formatted, requestStatus } = toGraphqlError(error, log, context.reply);
    status = Math.max(status, requestStatus);
    if (error.originalError instanceof GraphqlRequestError) malformedRequest = Math.max(malformedRequest, requestStatus);
    return formatted;
  });
  // GraphQL over HTTP: once execution started (`data` present, even null) the status is 200
  // whatever failed; a request refused before execution gets a 4xx. A malformed request (a file
  // part cut off while a resolver streamed it) is a 4xx whenever it is noticed.
  const statusCode = malformedRequest || ('data' in execution ? 200 : status);
  return { statusCode, response: { data: execution.data ?? null, errors } };
}

/**
 * Mercurius wraps a failed request's errors (validation, GET mutation…) in one error carrying them
 * in `errors`; a plain inner error is classified by its own code, else by the wrapper's.
 */
function unwrapValidationErrors(error: GraphQLError): GraphQLError[] {
  const outer = error.originalError;
  const inner = (outer as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(inner)) return [error];
  return inner.map((e: Error) =>
    e instanceof GraphQLError ? e : new GraphQLError(e.message, { originalError: 'code' in e ? e : (outer ?? e) }),
  );
}

function toGraphqlError(error: GraphQLError, log: Log, reply: Reply | undefined): { formatted: GraphQLFormattedError; requestStatus: number } {
  const original = error.originalError;
  const json = error.toJSON();
  const as = (extensions: Record<string, unknown>, message = error.message): GraphQLFormattedError => ({ ...json, message, extensions });

  if (original instanceof GraphqlRequestError) {
    log.info({ code: original.errorCode, detail: original.message }, 'graphql request refused');
    return { formatted: as({ ...original.details, code: original.category, errorCode: original.errorCode }), requestStatus: original.status };
  }
  if (original instanceof AppError) {
    log.info({ code: original.code, detail: original.message }, 'graphql request refused');
    const extensions = { ...original.details, code: codeOfKind[original.kind], errorCode: original.code };
    return { formatted: as(extensions), requestStatus: statusOfKind[original.kind] ?? 400 };
  }
  if (original === undefined || original === null || original instanceof GraphQLError) {
    // Parse, validation and limit errors, or variables that do not fit their types.
    const given = error.extensions ?? {};
    if (typeof given.code === 'string') return { formatted: as({ ...given }), requestStatus: 400 };
    const code = /^Syntax Error/.test(error.message) ? 'GRAPHQL_PARSE_FAILED' : /^(Variable|Argument) "/.test(error.message) ? 'BAD_USER_INPUT' : 'GRAPHQL_VALIDATION_FAILED';
    return { formatted: as({ code, errorCode: code }), requestStatus: 400 };
  }
  const known = requestErrors[(original as { code?: string }).code ?? ''];
  // RFC 9110 §15.5.6: a 405 names the methods that would work.
  if (known?.status === 405) reply?.header('allow', 'POST');
  if (known) return { formatted: as({ code: known.code, errorCode: known.errorCode }), requestStatus: known.status };
  // A bug on our side: logged with the request id, never shown (it may carry paths or SQL).
  log.error({ err: original }, 'graphql request failed');
  return { formatted: as({ code: 'INTERNAL_SERVER_ERROR', errorCode: 'INTERNAL_ERROR' }, 'Something went wrong on our side; it has been logged.'), requestStatus: 500 };
}
