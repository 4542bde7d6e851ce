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

export const BylineSchema = Type.Object({ id: Type.String(), username: Type.String() });

export const CommentSchema = Type.Object({
  id: Type.String(),
  postId: Type.String(),
  body: Type.String(),
  author: BylineSchema,
  createdAt: Type.String({ format: 'date-time' }),
});

export const PostSchema = Type.Object({
  id: Type.String(),
  caption: Type.String(),
  author: BylineSchema,
  createdAt: Type.String({ format: 'date-time' }),
  commentCount: Type.Integer(),
  image: Type.Object({ id: Type.String(), url: Type.String(), width: Type.Integer(), height: Type.Integer() }),
  lastComments: Type.Array(CommentSchema, { description: 'At most 2, newest first' }),
});

/** A page of posts: the feed, a user's posts. */
export const PostPageSchema = Type.Object({ posts: Type.Array(PostSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** `?limit=&cursor=` of paged lists (limit 1–100, default 20). */
export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
});
