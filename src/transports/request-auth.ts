import type { FastifyRequest } from 'fastify';
import type { AdminAuth } from '../core/admin/admin-auth.js';
import { AppError } from '../core/errors.js';
import type { AccountService } from '../core/users/account-service.js';
import type { User } from '../core/users/user.js';

/** Resolves who is calling from the request's headers; shared by every transport. */
export class RequestAuth {
  private readonly resolved = new WeakMap<FastifyRequest, Promise<User | null>>();

  constructor(
    private readonly accounts: AccountService,
    private readonly admin: AdminAuth,
  ) {}

  /** The signed-in user, or null for anonymous requests (an unknown or expired token is anonymous too). */
  user(request: FastifyRequest): Promise<User | null> {
    let found = this.resolved.get(request);
    if (!found) {
      const token = bearerToken(request);
      found = token ? this.accounts.authenticate(token) : Promise.resolve(null);
      this.resolved.set(request, found);
    }
    return found;
  }

  /** The signed-in user. Throws UNAUTHENTICATED. */
  async requireUser(request: FastifyRequest): Promise<User> {
    const user = await this.user(request);
    if (!user) {
      throw new AppError(
        'UNAUTHENTICATED',
        bearerToken(request) ? 'The session token is unknown or expired' : 'Send Authorization: Bearer <token> from POST /sessions',
      );
    }
    return user;
  }

  /** Passes for the admin token in `X-Access-Token` or `Authorization: Bearer`. Throws UNAUTHENTICATED or ADMIN_ONLY. */
  requireAdmin(request: FastifyRequest): void {
    const header = request.headers['x-access-token'];
    const token = (typeof header === 'string' ? header : undefined) ?? bearerToken(request);
    if (!token) throw new AppError('UNAUTHENTICATED', 'Send the admin token in X-Access-Token or Authorization: Bearer');
    if (!this.admin.isAdmin(token)) throw new AppError('ADMIN_ONLY');
  }
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), if any. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}
