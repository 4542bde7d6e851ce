import { AppError } from '../../core/errors.js';
import type { MetadataDialect } from './metadata-dialect.js';

/**
 * Runs an insert whose only foreign key that can fail is its row's user: the session of a request
 * is checked when it starts, so an account deleted meanwhile (its sessions with it) surfaces here
 * as a foreign-key violation. That is the caller's "you are signed out" (UNAUTHENTICATED, a 401),
 * not a server error.
 */
export async function writtenForLiveAccount<T>(dialect: MetadataDialect, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (dialect.isForeignKeyViolation(error)) throw accountGone();
    throw error;
  }
}

/** What a write by an account that no longer exists gets. */
export function accountGone(): AppError {
  return new AppError('UNAUTHENTICATED', 'The account no longer exists');
}
