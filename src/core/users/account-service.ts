import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import type { MetadataStore } from '../../ports/metadata-store.js';
import { decoyPasswordHash, hashPassword, verifyPassword } from './password-hasher.js';
import { hashToken, newSessionToken } from './session-tokens.js';
import { toPublicUser, type PublicUser, type User } from './user.js';

/** Usernames: 3–32 of letters, digits, `_`, `.`, `-`, starting with a letter or digit. */
export const usernamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/;
export const passwordMinLength = 8;
export const passwordMaxLength = 256;

export interface AccountServiceOptions {
  /** How long a session lives, in ms. */
  sessionTtlMs: number;
  now?: () => number;
}

/** Sign-up, log-in, log-out and token authentication. */
export class AccountService {
  private readonly now: () => number;

  constructor(
    private readonly store: MetadataStore,
    private readonly options: AccountServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Creates an account. Throws VALIDATION_FAILED or USERNAME_TAKEN. */
  async register(username: string, password: string): Promise<PublicUser> {
    if (!usernamePattern.test(username)) {
      throw new AppError('VALIDATION_FAILED', 'username must be 3–32 letters, digits, "_", "." or "-", starting with a letter or digit');
    }
    if (password.length < passwordMinLength || password.length > passwordMaxLength) {
      throw new AppError('VALIDATION_FAILED', `password must be ${passwordMinLength}–${passwordMaxLength} characters`);
    }
    const user: User = { id: newId(), username, passwordHash: await hashPassword(password), createdAt: this.now() };
    await this.store.transaction(async (tx) => {
      await tx.users.insert(user);
      await tx.events.append({ type: 'UserRegistered', actorId: user.id, subjectId: user.id, payload: { username } });
    });
    return toPublicUser(user);
  }

  /** Checks the password and opens a session. Throws INVALID_CREDENTIALS without saying which part was wrong. */
  async login(username: string, password: string): Promise<{ token: string; user: PublicUser; expiresAt: number }> {
    const user = await this.store.users.findByUsername(username);
    // Verify against a decoy when the user is unknown so response time does not reveal usernames.
    const valid = await verifyPassword(user?.passwordHash ?? (await decoyPasswordHash), password);
    if (!user || !valid) throw new AppError('INVALID_CREDENTIALS');
    const token = newSessionToken();
    const createdAt = this.now();
    const expiresAt = createdAt + this.options.sessionTtlMs;
    await this.store.sessions.insert({ tokenHash: hashToken(token), userId: user.id, createdAt, expiresAt });
    return { token, user: toPublicUser(user), expiresAt };
  }

  /** Revokes the session behind `token`; a no-op for unknown tokens. */
  async logout(token: string): Promise<void> {
    await this.store.sessions.delete(hashToken(token));
  }

  /** The public profiles of the users with those ids, in that order, missing ones left out; one query. */
  async publicUsers(ids: readonly string[]): Promise<PublicUser[]> {
    const byId = new Map((await this.store.users.findByIds(ids)).map((user) => [user.id, toPublicUser(user)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** The user a live session token belongs to, or null. */
  async authenticate(token: string): Promise<User | null> {
    const found = await this.store.sessions.findActive(hashToken(token), this.now());
    return found?.user ?? null;
  }
}
