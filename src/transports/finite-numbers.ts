import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';

/**
 * An Ajv plugin (Fastify's `ajv.plugins`) refusing every non-finite number a request would
 * otherwise carry past validation.
 *
 * Why: with `coerceTypes`, Ajv turns the strings "Infinity", "-Infinity" and "1e309" into
 * ±Infinity, and its `minimum`/`maximum` checks only run on finite numbers, so
 * `?limit=Infinity` passed `{type: 'integer', minimum: 1, maximum: 100}` and reached the database
 * (a 500). JSON itself never yields such a value into a validated field (a non-finite JSON number
 * already fails the type check), so any that remains after validation came from coercion: it is
 * a 400 wherever it hides, whichever schema the route declares.
 */
export function refuseNonFiniteNumbers(ajv: Ajv): Ajv {
  const compile = ajv.compile.bind(ajv);
  ajv.compile = ((schema: unknown, meta?: boolean) => {
    const inner = compile(schema as object, meta) as ValidateFunction;
    const validate = function (this: unknown, data: unknown, ...rest: unknown[]) {
      const valid = (inner as (...args: unknown[]) => boolean).call(this, data, ...rest);
      if (!valid) {
        validate.errors = inner.errors;
        return false;
      }
      const path = nonFinitePath(data, '');
      validate.errors = path === null ? null : [nonFiniteError(path)];
      return path === null;
    } as unknown as ValidateFunction & { errors: ErrorObject[] | null | undefined };
    Object.assign(validate, { schema: inner.schema, schemaEnv: inner.schemaEnv });
    return validate;
  }) as Ajv['compile'];
  return ajv;
}

/** The JSON-pointer-ish path of the first non-finite number in `value`, or null. */
function nonFinitePath(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : path;
  // Validated request parts are small and shallow; the bound only guards against cycles.
  if (value === null || typeof value !== 'object' || depth > 32) return null;
  for (const [key, child] of Object.entries(value)) {
    const found = nonFinitePath(child, `${path}/${key}`, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

function nonFiniteError(instancePath: string): ErrorObject {
  return { instancePath, schemaPath: '#', keyword: 'type', params: { type: 'finite number' }, message: 'must be a finite number' };
}
