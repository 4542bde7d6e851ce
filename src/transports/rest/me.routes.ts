import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ImageService } from '../../core/images/image-service.js';
import type { PostService } from '../../core/posts/post-service.js';
import type { AccountService } from '../../core/users/account-service.js';
import { toPublicUser } from '../../core/users/user.js';
import type { RequestAuth } from '../request-auth.js';
import { bearerToken } from '../request-auth.js';
import { ImageMetadata } from './images.routes.js';
import { presentImage, presentPost, presentUser } from './presenters.js';
import type { WriteRateLimit } from './rate-limits.js';
import { PageQuery, PostPageSchema, problems, PublicUserSchema } from './schemas.js';

export interface MeRoutesOptions {
  accounts: AccountService;
  images: ImageService;
  posts: PostService;
  auth: RequestAuth;
  /** Password checks cost an argon2 verify each, like a log-in: they share its per-IP limit. */
  passwordRateLimit: WriteRateLimit;
}

const Password = Type.String({ minLength: 1, maxLength: 256 });

/** The signed-in user's own account: profile, images, posts, password and deletion. */
export const meRoutes: FastifyPluginAsyncTypebox<MeRoutesOptions> = async (app, { accounts, images, posts, auth, passwordRateLimit }) => {
  app.get(
    '/me',
    {
      schema: { tags: ['me'], summary: 'The signed-in user', security: [{ bearer: [] }], response: { 200: PublicUserSchema, ...problems(401) } },
    },
    async (request) => presentUser(toPublicUser(await auth.requireUser(request))),
  );

  app.get(
    '/me/images',
    {
      schema: {
        tags: ['me'],
        summary: 'Your images, newest first, paged (each as GET /images/{id} shows it to you)',
        querystring: PageQuery,
        security: [{ bearer: [] }],
        response: { 200: Type.Object({ images: Type.Array(ImageMetadata), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...problems(400, 401) },
      },
    },
    async (request) => {
      const page = await images.listMine(await auth.requireUser(request), request.query.cursor ?? null, request.query.limit);
      return { images: page.images.map(presentImage), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/me/posts',
    {
      schema: {
        tags: ['me'],
        summary: 'Your posts, newest first, paged',
        querystring: PageQuery,
        security: [{ bearer: [] }],
        response: { 200: PostPageSchema, ...problems(400, 401) },
      },
    },
    async (request) => {
      const page = await posts.listByAuthor((await auth.requireUser(request)).id, request.query.cursor ?? null, request.query.limit);
      return { posts: page.posts.map(presentPost), nextCursor: page.nextCursor };
    },
  );

  app.put(
    '/me/password',
    {
      config: { rateLimit: passwordRateLimit },
      schema: {
        tags: ['me'],
        summary: 'Change your password; every other session of yours is ended',
        body: Type.Object({ currentPassword: Password, newPassword: Password }),
        security: [{ bearer: [] }],
        response: { 204: Type.Null(), ...problems(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const user = await auth.requireUser(request);
      await accounts.changePassword(user, bearerToken(request) ?? null, request.body.currentPassword, request.body.newPassword);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/me',
    {
      config: { rateLimit: passwordRateLimit },
      schema: {
        tags: ['me'],
        summary: 'Delete your account with its posts, comments, collections and images (bytes go with garbage collection)',
        body: Type.Object({ password: Password }),
        security: [{ bearer: [] }],
        response: { 204: Type.Null(), ...problems(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      await accounts.deleteAccount(await auth.requireUser(request), request.body.password);
      return reply.code(204).send(null);
    },
  );
};
