/** A registered account. `passwordHash` is a PHC string (argon2id); never leaves the core. */
export interface User {
  id: string;
  username: string;
  passwordHash: string;
  createdAt: number;
}

/** What other people may see of a user. */
export interface PublicUser {
  id: string;
  username: string;
  createdAt: number;
}

/** A login session. Only the SHA-256 of the bearer token is stored, so a leaked table grants nothing. */
export interface Session {
  tokenHash: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
}

export function toPublicUser(user: User): PublicUser {
  return { id: user.id, username: user.username, createdAt: user.createdAt };
}
