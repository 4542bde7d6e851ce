import type { Static, TSchema } from 'typebox';
import { Check, Errors } from 'typebox/value';
import { AppError } from '../../core/errors.js';

/**
 * Validates a JSON body in the handler, for routes that also accept multipart (a route-level
 * `body` schema would reject those). Throws VALIDATION_FAILED naming the first problem.
 */
export function parseJsonBody<T extends TSchema>(schema: T, body: unknown, hint: string): Static<T> {
  if (Check(schema, body)) return body as Static<T>;
  const [first] = Errors(schema, body);
  const where = first?.instancePath ? `body${first.instancePath.replaceAll('/', '.')} ` : 'body ';
  throw new AppError('VALIDATION_FAILED', first ? `${where}${first.message}. ${hint}` : hint);
}
