import type { FastifyError, FastifyReply } from 'fastify';
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

/** Builds the problem document for any error; 5xx details are never exposed. */
export function toProblem(error: unknown): Problem {
  if (error instanceof AppError) {
    return problem(statusOfKind[error.kind], error.code, error.title, error.message, error.details);
  }
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const known = fastifyError.code ? transportCodes[fastifyError.code] : undefined;
    // Fastify reports oversize multipart payloads and malformed multipart bodies with various
    // statuses (406 for a non-multipart content type); normalise the content-type case to 415.
    const normalised = known?.code === 'UNSUPPORTED_MEDIA_TYPE' ? 415 : status;
    return problem(normalised, known?.code ?? 'BAD_REQUEST', known?.title ?? 'Bad request', fastifyError.message ?? 'Bad request');
  }
  return problem(500, 'INTERNAL_ERROR', 'Internal server error', 'Something went wrong on our side; it has been logged.');
}

/** Sends `problem` as application/problem+json. */
export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type('application/problem+json').send(body);
}

function problem(status: number, code: string, title: string, detail: string, details?: Record<string, unknown>): Problem {
  return { type: `/problems/${code.toLowerCase().replaceAll('_', '-')}`, title, status, detail, code, ...details };
}
