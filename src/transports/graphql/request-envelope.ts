import type { FastifyRequest } from 'fastify';
import { GraphqlRequestError } from './request-errors.js';

/**
 * Checks the GraphQL-over-HTTP request parameters before Mercurius sees them: `query` a string,
 * `operationName` a string or null, `variables` and `extensions` objects or null; over GET each
 * given once, `variables` and `extensions` as JSON text. Mercurius's own schema coerces `0` into
 * "0" and lets the wrong types through to places that then fail with a 500. Throws BAD_REQUEST
 * naming the parameter. A `null` `extensions` is dropped (the spec allows it, Mercurius does not).
 */
export function assertGraphqlRequest(request: FastifyRequest): void {
  if (request.method === 'GET') {
    const query = request.query as Record<string, unknown>;
    const params: Record<string, unknown> = {};
    for (const name of ['query', 'operationName', 'variables', 'extensions'] as const) {
      const value = query[name];
      if (value === undefined) continue;
      if (typeof value !== 'string') throw bad(`The query-string parameter '${name}' must be given once`);
      params[name] = name === 'variables' || name === 'extensions' ? parseJson(name, value) : value;
    }
    assertParameters(params);
    return;
  }
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('The request body must be a JSON object {"query": …} (batches are not supported)');
  }
  assertParameters(body as Record<string, unknown>);
  if ((body as Record<string, unknown>).extensions === null) delete (body as Record<string, unknown>).extensions;
}

function assertParameters(params: Record<string, unknown>): void {
  const { query, operationName, variables, extensions } = params;
  if (query !== undefined && typeof query !== 'string') throw bad(`'query' must be a string, not ${kindOf(query)}`);
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string')
    throw bad(`'operationName' must be a string or null, not ${kindOf(operationName)}`);
  if (variables !== undefined && variables !== null && !isObject(variables)) throw bad(`'variables' must be an object or null, not ${kindOf(variables)}`);
  if (extensions !== undefined && extensions !== null && !isObject(extensions)) throw bad(`'extensions' must be an object or null, not ${kindOf(extensions)}`);
  const persisted = isObject(extensions) ? extensions.persistedQuery : undefined;
  if (persisted !== undefined && !(isObject(persisted) && typeof persisted.sha256Hash === 'string' && typeof persisted.version === 'number')) {
    throw bad('\'extensions.persistedQuery\' must be {"version": 1, "sha256Hash": "<hex>"}');
  }
  if (query === undefined && persisted === undefined) throw bad("A GraphQL request needs 'query' (or a persisted query's hash in 'extensions')");
}

function parseJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw bad(`The query-string parameter '${name}' must be JSON`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function bad(message: string): GraphqlRequestError {
  return new GraphqlRequestError('BAD_REQUEST', message);
}
