import { secretsEqual } from '../users/session-tokens.js';

/** Checks presented tokens against the configured admin token in constant time. */
export class AdminAuth {
  constructor(private readonly adminToken: string) {}

  /** True when `token` is the admin token. */
  isAdmin(token: string | undefined): boolean {
    return token !== undefined && token.length > 0 && secretsEqual(token, this.adminToken);
  }
}
