/**
 * Every error the core can raise, in one registry (the Fastify `lib/errors.js` idea): a stable
 * machine `code`, the HTTP-agnostic `kind` that transports map to a status, and a short title.
 * `docs/errors.md` lists the same table; a test fails when the two drift.
 */
export const errorCodes = {
  VALIDATION_FAILED: { kind: 'invalid', title: 'The request is not valid' },
  USERNAME_TAKEN: { kind: 'conflict', title: 'That username is taken' },
  INVALID_CREDENTIALS: { kind: 'unauthenticated', title: 'Wrong username or password' },
  WRONG_PASSWORD: { kind: 'forbidden', title: 'The password is wrong' },
  USER_NOT_FOUND: { kind: 'not_found', title: 'No such user' },
  UNAUTHENTICATED: { kind: 'unauthenticated', title: 'Authentication is required' },
  FORBIDDEN: { kind: 'forbidden', title: 'Not allowed' },
  NOT_OWNER: { kind: 'forbidden', title: 'Only the owner may do this' },
  ADMIN_ONLY: { kind: 'forbidden', title: 'Only an admin may do this' },
  NOT_FOUND: { kind: 'not_found', title: 'No such resource' },
  IMAGE_NOT_FOUND: { kind: 'not_found', title: 'No such image' },
  IMAGE_NOT_READY: { kind: 'not_found', title: 'The image is not available yet' },
  MALFORMED_MULTIPART: { kind: 'invalid', title: 'The multipart body is malformed' },
  IMAGE_MISSING: { kind: 'invalid', title: 'No image was sent' },
  IMAGE_TOO_LARGE: { kind: 'too_large', title: 'The image exceeds the size limit' },
  UNSUPPORTED_FORMAT: { kind: 'unsupported', title: 'The bytes are not a supported image format' },
  CORRUPT_IMAGE: { kind: 'unprocessable', title: 'The image is corrupt or truncated' },
  IMAGE_DIMENSIONS_TOO_LARGE: {
    kind: 'unprocessable',
    title: 'The image has more pixels than allowed',
  },
  INVALID_CURSOR: { kind: 'invalid', title: 'The cursor is malformed or was tampered with' },
  INVALID_IDEMPOTENCY_KEY: { kind: 'invalid', title: 'The Idempotency-Key header is malformed' },
  POST_NOT_FOUND: { kind: 'not_found', title: 'No such post' },
  COMMENT_NOT_FOUND: { kind: 'not_found', title: 'No such comment on this post' },
  COLLECTION_NOT_FOUND: { kind: 'not_found', title: 'No such collection' },
  IMAGE_IN_USE: { kind: 'conflict', title: 'The image is shown by a post' },
  IDEMPOTENCY_KEY_IN_FLIGHT: { kind: 'conflict', title: 'A request with this Idempotency-Key is still in progress' },
  IDEMPOTENCY_KEY_REUSED: { kind: 'unprocessable', title: 'This Idempotency-Key was used for a different request' },
  UPLOAD_NOT_FOUND: { kind: 'not_found', title: 'No such upload' },
  UPLOAD_NOT_FINISHED: { kind: 'conflict', title: 'The upload has not received all its bytes yet' },
  UPLOAD_ALREADY_CONSUMED: { kind: 'conflict', title: 'The upload has already been turned into an image' },
  UPLOAD_IN_USE: { kind: 'conflict', title: 'Another request is using this upload' },
  UPLOAD_EXPIRED: { kind: 'gone', title: 'The upload has expired' },
  UPLOAD_LINK_NOT_FOUND: { kind: 'not_found', title: 'No such upload link' },
  UPLOAD_LINK_EXPIRED: { kind: 'gone', title: 'The upload link has expired' },
  UPLOAD_LINK_FULL: { kind: 'too_large', title: 'The upload link has reached its limit' },
  RANGE_NOT_SATISFIABLE: { kind: 'range_not_satisfiable', title: 'The requested byte range is not satisfiable' },
  JOB_NOT_PARKED: { kind: 'conflict', title: 'Only a parked job can be retried' },
  RATE_LIMITED: { kind: 'rate_limited', title: 'Too many requests' },
  TOO_MANY_UPLOADS: { kind: 'rate_limited', title: 'Too many uploads in progress' },
  STORAGE_UNAVAILABLE: { kind: 'unavailable', title: 'Storage is unavailable' },
  STORAGE_FULL: { kind: 'unavailable', title: 'Storage is full' },
  SERVER_BUSY: { kind: 'unavailable', title: 'The server is out of resources' },
} as const;

export type ErrorCode = keyof typeof errorCodes;
export type ErrorKind = (typeof errorCodes)[ErrorCode]['kind'];

/** A failure the caller can act on; never carries an HTTP status (transports map `kind`). */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly title: string;
  /** Extra machine-readable fields for the response body (e.g. `limit`). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail?: string, details?: Record<string, unknown>) {
    const entry = errorCodes[code];
    super(detail ?? entry.title);
    this.name = 'AppError';
    this.code = code;
    this.kind = entry.kind;
    this.title = entry.title;
    this.details = details;
  }
}

/** True when `error` is an AppError carrying `code` (or any AppError when `code` is omitted). */
export function isAppError(error: unknown, code?: ErrorCode): error is AppError {
  return error instanceof AppError && (code === undefined || error.code === code);
}
