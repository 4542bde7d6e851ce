import { Type } from 'typebox';

/** RFC 9457 problem document, referenced by every route's error responses in the OpenAPI document. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable machine-readable error code (docs/errors.md)' }),
  },
  { additionalProperties: true, $id: 'Problem' },
);

/** Error responses a route can produce, for the OpenAPI document. */
export function problems(...statuses: number[]): Record<number, typeof ProblemSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ProblemSchema]));
}

export const PublicUserSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
