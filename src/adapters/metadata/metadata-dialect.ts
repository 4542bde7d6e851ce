import type { ColumnDefinitionBuilder, Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * Everything that differs between SQLite and PostgreSQL, as typed capabilities (the idea of
 * Kysely's own `DialectAdapter.supportsReturning`). The SQL itself is written once; only
 * `sqlite.ts` and `postgres.ts` implement this interface.
 */
export interface MetadataDialect {
  readonly name: 'sqlite' | 'postgres';
  /** Column type of `events.position`. */
  readonly identityType: 'integer' | 'bigint';
  /** Makes a column an ever-increasing primary key whose values are never reused. */
  identityColumn(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /**
   * True when `error` means the database cannot be reached or is too busy right now (worth a
   * retry later, reported as STORAGE_UNAVAILABLE) rather than a bug in a query.
   */
  isUnavailable(error: unknown): boolean;
  /**
   * Called inside the transaction that appends events, before the insert: afterwards positions
   * must become visible in position order, so a reader paging with `list(after)` never skips an
   * event that commits late with a smaller position.
   */
  lockEventLog(tx: Kysely<Database>): Promise<void>;
}

/** Reads the `code` property drivers put on their errors (better-sqlite3, pg, node:net). */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
