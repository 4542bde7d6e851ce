import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import type { Repositories, StoreSlice } from '../../ports/store-slice.js';
import { imageDeletedEvent } from '../images/image-events.js';
import type { Image } from '../images/image.js';
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

/** Sign-up, log-in, log-out, token authentication, password changes and account deletion. */
export class AccountService {
  private readonly now: () => number;

  constructor(
    private readonly store: StoreSlice<'collections' | 'comments' | 'events' | 'feed' | 'images' | 'posts' | 'sessions' | 'users'>,
    private readonly options: AccountServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Creates an account. Throws VALIDATION_FAILED or USERNAME_TAKEN. */
  async register(username: string, password: string): Promise<PublicUser> {
    if (!usernamePattern.test(username)) {
      throw new AppError('VALIDATION_FAILED', 'username must be 3–32 letters, digits, "_", "." or "-", starting with a letter or digit');
    }
    assertValidPassword(password);
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

  /** The public profile of the user with that username (any letter case). Throws USER_NOT_FOUND. */
  async publicUserNamed(username: string): Promise<PublicUser> {
    const user = await this.store.users.findByUsername(username);
    if (!user) throw new AppError('USER_NOT_FOUND', `No user named ${username}`);
    return toPublicUser(user);
  }

  /**
   * Replaces the user's password after checking the current one, and ends every other session of
   * theirs (a stolen token stops working) in the same transaction; the session behind `keepToken`
   * stays. Throws WRONG_PASSWORD, VALIDATION_FAILED.
   */
  async changePassword(user: User, keepToken: string | null, currentPassword: string, newPassword: string): Promise<void> {
    assertValidPassword(newPassword);
    await this.assertPassword(user, currentPassword);
    const passwordHash = await hashPassword(newPassword);
    await this.store.transaction(async (tx) => {
      if (!(await tx.users.setPasswordHash(user.id, passwordHash))) throw new AppError('UNAUTHENTICATED', 'The account no longer exists');
      const ended = await tx.sessions.deleteByUser(user.id, keepToken === null ? null : hashToken(keepToken));
      await tx.events.append({ type: 'PasswordChanged', actorId: user.id, subjectId: user.id, payload: { sessionsEnded: ended } });
    });
  }

  /**
   * Deletes the account after checking its password, in one transaction: the user's comments (on
   * anyone's posts, whose counts drop), their posts with everyone's comments on them, their
   * collections, their images, sessions and unused resumable uploads, then the user. Bytes are not
   * touched here: blobs no image references any more are left to garbage collection, upload bytes
   * to the upload sweep. The event log keeps its past events (they hold no password or GPS).
   * Throws WRONG_PASSWORD.
   */
  async deleteAccount(user: User, password: string): Promise<void> {
    await this.assertPassword(user, password);
    const now = this.now();
    await this.store.transaction(async (tx) => {
      const images = await allImagesOf(tx, user.id);
      let commentsRemoved = 0;
      for (const { postId, removed } of await tx.comments.deleteByAuthor(user.id)) {
        commentsRemoved += removed;
        await tx.posts.adjustCommentCount(postId, -removed);
      }
      const posts = await tx.posts.deleteByAuthor(user.id);
      const collections = await tx.collections.deleteByOwner(user.id);
      await tx.images.deleteByOwner(user.id, now);
      if (!(await tx.users.delete(user.id))) throw new AppError('UNAUTHENTICATED', 'The account no longer exists');
      await tx.feed.bump();
      // One per image: the stats projection counts images back out of these.
      if (images.length > 0) await tx.events.append(...images.map((image) => imageDeletedEvent(image, user.id, 'account-deleted')));
      await tx.events.append({
        type: 'AccountDeleted',
        actorId: user.id,
        subjectId: user.id,
        payload: { posts, comments: commentsRemoved, collections, images: images.length },
      });
    });
  }

  /** The public profiles of the users with those ids, in that order, missing ones left out; one query. */
  async publicUsers(ids: readonly string[]): Promise<PublicUser[]> {
    const byId = new Map((await this.store.users.findByIds(ids)).map((user) => [user.id, toPublicUser(user)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** Checks a signed-in user's password again before a sensitive change. Throws WRONG_PASSWORD. */
  private async assertPassword(user: User, password: string): Promise<void> {
    // Re-read: the hash may have changed since the session's request began.
    const current = await this.store.users.findById(user.id);
    if (!current) throw new AppError('UNAUTHENTICATED', 'The account no longer exists');
    if (!(await verifyPassword(current.passwordHash, password))) throw new AppError('WRONG_PASSWORD');
  }

  /** The user a live session token belongs to, or null. */
  async authenticate(token: string): Promise<User | null> {
    const found = await this.store.sessions.findActive(hashToken(token), this.now());
    return found?.user ?? null;
  }
}

/** Throws VALIDATION_FAILED unless `password` has an acceptable length. */
function assertValidPassword(password: string): void {
  if (password.length < passwordMinLength || password.length > passwordMaxLength) {
    throw new AppError('VALIDATION_FAILED', `password must be ${passwordMinLength}–${passwordMaxLength} characters`);
  }
}

/** Every image of the owner, read in pages inside the caller's transaction. */
async function allImagesOf(tx: Repositories<'images'>, ownerId: string): Promise<Image[]> {
  const images: Image[] = [];
  for (let page = await tx.images.listByOwner(ownerId, null, 1000); page.length > 0; page = await tx.images.listByOwner(ownerId, page.at(-1)!.id, 1000)) {
    images.push(...page);
  }
  return images;
}
