import type { FastifyError, FastifyReply } from 'fastify';
import { storageFailure } from '../adapters/storage-failures.js';
import { AppError, type ErrorKind } from '../core/errors.js';

/** The one place an AppError kind becomes an HTTP status. */
const statusOfKind: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  too_large: 413,
  unsupported: 415,
  range_not_satisfiable: 416,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
};

/** An RFC 9457 problem document plus our stable machine `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [extra: string]: unknown;
}

/** Transport-level codes for failures that never reach the core (parsing, routing, crashes). */
const transportCodes: Record<string, { code: string; title: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BODY_TOO_LARGE', title: 'The request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', title: 'Unsupported content type' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'MALFORMED_JSON', title: 'The body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'MALFORMED_JSON', title: 'The body is empty' },
  FST_ERR_VALIDATION: { code: 'VALIDATION_FAILED', title: 'The request is not valid' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', title: 'Expected multipart/form-data' },
  FST_PARTS_LIMIT: { code: 'TOO_MANY_PARTS', title: 'Too many multipart parts' },
  FST_FILES_LIMIT: { code: 'TOO_MANY_FILES', title: 'Too many files' },
  FST_FIELDS_LIMIT: { code: 'TOO_MANY_FIELDS', title: 'Too many fields' },
  FST_PROTO_VIOLATION: { code: 'VALIDATION_FAILED', title: 'The request is not valid' },
};

/**
 * Seconds a client should wait before retrying, sent as `Retry-After` (RFC 9110 §10.2.3) with
 * these codes. A full disk needs an operator, so its retries are spaced out; the rest clear by
 * themselves in seconds (a database failover, descriptors freed, an upload finishing).
 */
const retryAfterSecondsOfCode: Record<string, number> = {
  STORAGE_UNAVAILABLE: 5,
  SERVER_BUSY: 5,
  STORAGE_FULL: 60,
  TOO_MANY_UPLOADS: 5,
};

/** The `Retry-After` seconds that go with an error code, if it has any. */
export function retryAfterSecondsOf(code: string): number | undefined {
  return retryAfterSecondsOfCode[code];
}

/** The AppError a storage failure (a full disk, no descriptors left) stands for, or `error` itself. */
export function asKnownFailure(error: unknown): unknown {
  return error instanceof AppError ? error : (storageFailure(error) ?? error);
}

/** Builds the problem document for any error; 5xx details are never exposed. */
export function toProblem(error: unknown): Problem {
  // Belt and braces: adapters translate these where they arise; one that slipped through (a
  // library opening files of its own) is still the server's state, not a bug to answer 500 for.
  const appError = error instanceof AppError ? error : storageFailure(error);
  if (appError) {
    return problem(statusOfKind[appError.kind], appError.code, appError.title, scrubDetail(appError.message), appError.details);
  }
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const known = fastifyError.code ? transportCodes[fastifyError.code] : undefined;
    // Fastify reports oversize multipart payloads and malformed multipart bodies with various
    // statuses (406 for a non-multipart content type); normalise the content-type case to 415.
    const normalised = known?.code === 'UNSUPPORTED_MEDIA_TYPE' ? 415 : status;
    return problem(normalised, known?.code ?? 'BAD_REQUEST', known?.title ?? 'Bad request', scrubDetail(fastifyError.message ?? 'Bad request'));
  }
  return problem(500, 'INTERNAL_ERROR', 'Internal server error', 'Something went wrong on our side; it has been logged.');
}

/** Sends `problem` as application/problem+json, with `Retry-After` where the code has one. */
export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  const retryAfter = retryAfterSecondsOfCode[body.code];
  // @fastify/rate-limit sets its own, exact value for RATE_LIMITED: keep it.
  if (retryAfter !== undefined && !reply.hasHeader('retry-after')) reply.header('retry-after', String(retryAfter));
  return reply.code(body.status).type('application/problem+json').send(body);
}

/** Directories whose paths must never reach a client (the data dir and what lives in it). */
const hiddenDirectories = new Set<string>();

/** Registers directories (DATA_DIR, a file blob store's root) that `scrubDetail` removes from details. */
export function hideServerPaths(...directories: string[]): void {
  for (const directory of directories) if (directory.length > 1) hiddenDirectories.add(directory.replace(/\/+$/, ''));
}

/**
 * `detail` with server paths replaced by "[server path]": any path under a hidden directory and
 * any staging file name, wherever the message came from. Decoders once echoed a staging file's
 * path in an error (`…/staging/<uuid>.staging`); a client must learn nothing of the layout.
 */
export function scrubDetail(detail: string): string {
  let scrubbed = detail;
  for (const directory of hiddenDirectories) {
    scrubbed = scrubbed.replace(new RegExp(escapeRegExp(directory) + pathRest, 'g'), '[server path]');
  }
  return scrubbed.replace(stagingFile, '[server path]');
}

/** The rest of a path in a message: up to whitespace, a quote or closing punctuation. */
const pathRest = String.raw`[^\s'"),;:]*`;
const stagingFile = new RegExp(String.raw`[^\s'"(]*\.staging\b` + pathRest, 'g');

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function problem(status: number, code: string, title: string, detail: string, details?: Record<string, unknown>): Problem {
  return { type: `/problems/${code.toLowerCase().replaceAll('_', '-')}`, title, status, detail, code, ...details };
}
