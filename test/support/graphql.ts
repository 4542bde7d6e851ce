import type { TestUser } from './client.js';

/** A GraphQL response body. */
export interface GraphqlBody<T = Record<string, any>> {
  /** Absent when the request was refused before execution. */
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions: { code: string; errorCode: string; [key: string]: unknown } }[];
}

export interface GraphqlResponse<T> {
  status: number;
  headers: Headers;
  body: GraphqlBody<T>;
}

/**
 * What current GraphQL clients send (graphql-http's, urql's): the GraphQL-over-HTTP response type
 * first, so request errors come back as 4xx; application/json for servers that predate it.
 */
export const modernAccept = 'application/graphql-response+json, application/json;q=0.9';

/** POSTs a GraphQL operation as JSON, as `user` when given, accepting what a current client accepts. */
export async function graphql<T = Record<string, any>>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  user?: TestUser | null,
  headers: Record<string, string> = {},
): Promise<GraphqlResponse<T>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: modernAccept, ...(user ? user.headers : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphqlBody<T> };
}

/** The URL of a GET request for `query` (and `variables`, `extensions`). */
export function graphqlGetUrl(baseUrl: string, query: string | null, variables?: Record<string, unknown>, extensions?: Record<string, unknown>): string {
  const params = new URLSearchParams();
  if (query !== null) params.set('query', query);
  if (variables) params.set('variables', JSON.stringify(variables));
  if (extensions) params.set('extensions', JSON.stringify(extensions));
  return `${baseUrl}/graphql?${params}`;
}

/** The single error's `extensions.code` and `errorCode`, or throws when there is not exactly one. */
export function onlyError(body: GraphqlBody<unknown>): { code: string; errorCode: string; message: string } {
  if (body.errors?.length !== 1) throw new Error(`expected one error, got ${JSON.stringify(body)}`);
  const [error] = body.errors;
  return { code: error!.extensions.code, errorCode: error!.extensions.errorCode, message: error!.message };
}

/**
 * A GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec),
 * built by hand: `operations`, then `map`, then the file part `0` bound to `variables.file`.
 */
export function multipartOperation(
  query: string,
  file: Uint8Array,
  filename = 'photo.png',
  variables: Record<string, unknown> = {},
): { body: Buffer; contentType: string } {
  const boundary = `----imagegram${Math.random().toString(16).slice(2)}`;
  const field = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head =
    field('operations', JSON.stringify({ query, variables: { ...variables, file: null } })) +
    field('map', JSON.stringify({ 0: ['variables.file'] })) +
    `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}
