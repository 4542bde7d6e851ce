import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AddComment } from '../../core/posts/add-comment.js';
import type { CommentService } from '../../core/posts/comment-service.js';
import type { RequestAuth } from '../request-auth.js';
import { sendCreated } from './posts.routes.js';
import { presentComment } from './presenters.js';
import type { WriteRateLimit } from './rate-limits.js';
import { CommentSchema, IdParams, PageQuery, problems } from './schemas.js';

export interface CommentRoutesOptions {
  comments: CommentService;
  addComment: AddComment;
  auth: RequestAuth;
  writeRateLimit: WriteRateLimit;
}

const CommentParams = Type.Object({ id: IdParams.properties.id, commentId: IdParams.properties.id });

/** Comments on a post. */
export const commentRoutes: FastifyPluginAsyncTypebox<CommentRoutesOptions> = async (app, { comments, addComment, auth, writeRateLimit }) => {
  app.post(
    '/posts/:id/comments',
    {
      config: { rateLimit: writeRateLimit },
      schema: {
        tags: ['comments'],
        summary: 'Comment on a post',
        description: 'Honours Idempotency-Key: a retry with the same key and body replays the first response.',
        params: IdParams,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()) }),
        body: Type.Object({ body: Type.String({ maxLength: 10_000, description: '1–1,000 characters' }) }),
        security: [{ bearer: [] }],
        response: { 201: CommentSchema, ...problems(400, 401, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const author = await auth.requireUser(request);
      const input = { postId: request.params.id, body: request.body.body };
      const { comment, replayed } = await addComment.run(author, input, request.headers['idempotency-key']);
      return sendCreated(reply, presentComment(comment), replayed);
    },
  );

  app.get(
    '/posts/:id/comments',
    {
      schema: {
        tags: ['comments'],
        summary: "All of a post's comments, newest first, paged",
        params: IdParams,
        querystring: PageQuery,
        response: { 200: Type.Object({ comments: Type.Array(CommentSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...problems(400, 404) },
      },
    },
    async (request) => {
      const page = await comments.list(request.params.id, request.query.cursor ?? null, request.query.limit);
      return { comments: page.comments.map(presentComment), nextCursor: page.nextCursor };
    },
  );

  app.delete(
    '/posts/:id/comments/:commentId',
    {
      config: { rateLimit: writeRateLimit },
      schema: {
        tags: ['comments'],
        summary: 'Delete your comment',
        params: CommentParams,
        security: [{ bearer: [] }],
        response: { 204: Type.Null(), ...problems(401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await comments.delete(await auth.requireUser(request), request.params.id, request.params.commentId);
      return reply.code(204).send(null);
    },
  );
};
