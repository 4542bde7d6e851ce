import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactUrl } from './redact-url.js';

const defaultUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
let warnedUnreachable = false;

export interface ThrowawayDatabase {
  url: string;
  drop(): Promise<void>;
}

/** True for the CI PostgreSQL run (`TEST_DATABASE=postgres`): suites use PostgreSQL, not SQLite. */
export function isPostgresRequested(): boolean {
  return process.env.TEST_DATABASE === 'postgres';
}

/**
 * Creates an empty database `imagegram_test_<random hex>` on the server of `TEST_POSTGRES_URL`
 * (default: the local dev server) and returns its URL; `drop()` removes it, connections and all.
 * Returns null, after one loud line on stderr, when the default server is unreachable. When
 * `TEST_POSTGRES_URL` is set an unreachable server throws instead: CI must never silently skip.
 */
export async function createThrowawayPostgresDatabase(): Promise<ThrowawayDatabase | null> {
  const requiredUrl = process.env.TEST_POSTGRES_URL || undefined;
  const baseUrl = requiredUrl ?? defaultUrl;
  const admin = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (requiredUrl !== undefined) {
      const message = `TEST_POSTGRES_URL (${redactUrl(baseUrl)}) is not reachable: ${reason}`;
      throw new Error(message, { cause: error });
    }
    if (!warnedUnreachable) {
      warnedUnreachable = true;
      process.stderr.write(
        `!!! PostgreSQL not reachable at ${redactUrl(baseUrl)} (${reason}): ` + 'skipping PostgreSQL runs (set TEST_POSTGRES_URL to require them)\n',
      );
    }
    return null;
  }

  const name = `imagegram_test_${randomBytes(6).toString('hex')}`;
  try {
    // Identifiers cannot be bound as parameters; `name` is ours and hex-only.
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 3_000 });
      await client.connect();
      try {
        // FORCE (PostgreSQL 13+) ends connections a test left open instead of failing.
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
