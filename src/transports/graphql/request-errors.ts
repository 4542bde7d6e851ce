/** Transport codes a GraphQL request can be refused with before (or instead of) executing; see docs/errors.md. */
export type RequestErrorCode = 'BAD_REQUEST' | 'MALFORMED_MULTIPART' | 'TOO_MANY_FILES' | 'BODY_TOO_LARGE';

const categoryOf: Record<RequestErrorCode, { code: string; status: number }> = {
  BAD_REQUEST: { code: 'BAD_REQUEST', status: 400 },
  MALFORMED_MULTIPART: { code: 'BAD_REQUEST', status: 400 },
  TOO_MANY_FILES: { code: 'PAYLOAD_TOO_LARGE', status: 413 },
  BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', status: 413 },
};

/**
 * A request that is not a well-formed GraphQL-over-HTTP request (body, query string, multipart
 * framing). It is the client's fault whenever it surfaces, so it answers 4xx under either media
 * type, even when noticed after execution began (a file part cut off mid-stream) as long as no
 * data was produced. A document that fails is a GraphQL request error instead (a GraphQLError).
 */
export class GraphqlRequestError extends Error {
  readonly errorCode: RequestErrorCode;
  /** `extensions.code`: the category GraphQL clients know. */
  readonly category: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(errorCode: RequestErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'GraphqlRequestError';
    this.errorCode = errorCode;
    this.category = categoryOf[errorCode].code;
    this.status = categoryOf[errorCode].status;
    this.details = details;
  }
}
