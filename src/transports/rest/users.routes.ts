import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AccountService } from '../../core/users/account-service.js';
import type { RequestAuth } from '../request-auth.js';
import { bearerToken } from '../request-auth.js';
import { presentUser } from './presenters.js';
import type { WriteRateLimit } from './rate-limits.js';
import { problems, PublicUserSchema } from './schemas.js';

export interface AccountRoutesOptions {
  accounts: AccountService;
  auth: RequestAuth;
  writeRateLimit: WriteRateLimit;
  loginRateLimit: WriteRateLimit;
}

const Credentials = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64 }),
  password: Type.String({ minLength: 1, maxLength: 256 }),
});

/** Sign-up, log-in and log-out. */
export const accountRoutes: FastifyPluginAsyncTypebox<AccountRoutesOptions> = async (app, { accounts, auth, writeRateLimit, loginRateLimit }) => {
  app.post(
    '/users',
    {
      config: { rateLimit: writeRateLimit },
      schema: {
        tags: ['users'],
        summary: 'Sign up',
        body: Credentials,
        response: { 201: PublicUserSchema, ...problems(400, 409, 429) },
      },
    },
    async (request, reply) => {
      const user = await accounts.register(request.body.username, request.body.password);
      return reply.code(201).send(presentUser(user));
    },
  );

  app.post(
    '/sessions',
    {
      config: { rateLimit: loginRateLimit },
      schema: {
        tags: ['users'],
        summary: 'Log in: returns a bearer token',
        body: Credentials,
        response: {
          201: Type.Object({ token: Type.String(), expiresAt: Type.String({ format: 'date-time' }), user: PublicUserSchema }),
          ...problems(400, 401, 429),
        },
      },
    },
    async (request, reply) => {
      const session = await accounts.login(request.body.username, request.body.password);
      return reply.code(201).send({ token: session.token, expiresAt: new Date(session.expiresAt).toISOString(), user: presentUser(session.user) });
    },
  );

  app.delete(
    '/sessions/current',
    {
      schema: { tags: ['users'], summary: 'Log out: revokes the bearer token', security: [{ bearer: [] }], response: { 204: Type.Null(), ...problems(401) } },
    },
    async (request, reply) => {
      await auth.requireUser(request);
      await accounts.logout(bearerToken(request) ?? '');
      return reply.code(204).send(null);
    },
  );
};
