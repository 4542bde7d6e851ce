import type { Generated } from 'kysely';

/**
 * The tables as Kysely sees them, identical on SQLite and PostgreSQL. Timestamps are epoch
 * milliseconds in `bigint` columns (the pg adapter parses int8 to number; values stay far below
 * 2^53). Booleans are integers 0/1, which both databases store and compare the same way.
 */
export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  images: ImagesTable;
  events: EventsTable;
}

export interface UsersTable {
  id: string;
  username: string;
  /** `usernameKey(username)`, UNIQUE: what makes usernames case-insensitively unique. */
  username_key: string;
  password_hash: string;
  created_at: number;
}

export interface SessionsTable {
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
}

export interface ImagesTable {
  id: string;
  owner_id: string;
  sha256: string;
  format: string;
  width: number;
  height: number;
  size: number;
  status: string;
  created_at: number;
  upload_completed_at: number | null;
  camera_make: string | null;
  camera_model: string | null;
  taken_at: number | null;
  has_gps: number;
  gps_latitude: number | null;
  gps_longitude: number | null;
}

export interface EventsTable {
  position: Generated<number>;
  type: string;
  actor_id: string | null;
  subject_id: string;
  at: number;
  /** JSON text: portable, and the log is read in order rather than queried by payload. */
  payload: string;
}
