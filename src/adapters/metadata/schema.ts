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
  posts: PostsTable;
  comments: CommentsTable;
  feed_versions: FeedVersionsTable;
  idempotency_keys: IdempotencyKeysTable;
  collections: CollectionsTable;
  collection_images: CollectionImagesTable;
  uploads: UploadsTable;
  upload_links: UploadLinksTable;
  jobs: JobsTable;
  job_schedules: JobSchedulesTable;
  blob_records: BlobRecordsTable;
  blob_pins: BlobPinsTable;
  stats_counters: StatsCountersTable;
  stats_checkpoint: StatsCheckpointTable;
  import_ledger: ImportLedgerTable;
  instance_settings: InstanceSettingsTable;
}

/** Values every process of a deployment shares (migration 0006). */
export interface InstanceSettingsTable {
  name: string;
  value: string;
  updated_at: number;
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
  metadata_extracted_at: number | null;
  share_location: number;
  share_taken_at: number;
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

export interface PostsTable {
  /** UUIDv7: id order is creation order, so the feed's tie-break needs no created_at. */
  id: string;
  author_id: string;
  image_id: string;
  caption: string;
  created_at: number;
  /** Kept equal to the post's comment rows by the core, in the transaction of each change. */
  comment_count: number;
}

export interface CommentsTable {
  id: string;
  post_id: string;
  author_id: string;
  body: string;
  created_at: number;
}

/** The feed version is the sum of these counters; every feed-changing write bumps one of them. */
export interface FeedVersionsTable {
  bucket: number;
  version: number;
}

export interface IdempotencyKeysTable {
  user_id: string;
  key: string;
  fingerprint: string;
  /** Null while the claiming request is in flight. */
  result: string | null;
  created_at: number;
  lease_until: number;
  expires_at: number;
}

export interface CollectionsTable {
  /** UUIDv7: id order is creation order, so "newest first" pages by id alone. */
  id: string;
  owner_id: string;
  name: string;
  created_at: number;
}

/** Set membership: one row per (collection, image); both directions of the relation read it. */
export interface CollectionImagesTable {
  collection_id: string;
  image_id: string;
  added_at: number;
}

/** Resumable uploads (migration 0004_uploads); see `ResumableUpload`. */
export interface UploadsTable {
  id: string;
  owner_id: string;
  size: number;
  received: number;
  sha256: string | null;
  created_at: number;
  expires_at: number;
  finished_at: number | null;
  claimed_until: number | null;
  consumed_at: number | null;
  image_id: string | null;
}

/** Upload links (migration 0004_uploads); only the token's SHA-256 is stored. */
export interface UploadLinksTable {
  id: string;
  token_hash: string;
  owner_id: string;
  created_at: number;
  expires_at: number;
  max_bytes: number;
  max_images: number;
  used_bytes: number;
  used_images: number;
}

/** The job table (migration 0005_operations); see `Job`. */
export interface JobsTable {
  id: string;
  name: string;
  /** JSON text. */
  payload: string;
  key: string | null;
  /** `key` while queued or running, null after: UNIQUE, so one live job per key. */
  active_key: string | null;
  state: string;
  attempts: number;
  max_attempts: number;
  run_at: number;
  leased_by: string | null;
  lease_token: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** When each periodic job is next due, shared by every worker process. */
export interface JobSchedulesTable {
  name: string;
  next_run_at: number;
}

/** One row per stored blob (migration 0005_operations); see `BlobRecord`. */
export interface BlobRecordsTable {
  sha256: string;
  size: number;
  state: string;
  created_at: number;
  unreferenced_since: number | null;
  missing_since: number | null;
  state_changed_at: number;
}

/** An ingest's hold on a blob while it writes or relies on the blob's bytes. */
export interface BlobPinsTable {
  id: string;
  sha256: string;
  expires_at: number;
}

/** The admin stats projection's counters. */
export interface StatsCountersTable {
  dimension: string;
  value: string;
  uploads: number;
}

/** Exactly one row (id 1): the last event position the counters include. */
export interface StatsCheckpointTable {
  id: number;
  position: number;
}

/** One row per file a bulk import handled, per owner. */
export interface ImportLedgerTable {
  owner_id: string;
  path: string;
  size: number;
  modified_at: number;
  outcome: string;
  image_id: string | null;
  detail: string | null;
  recorded_at: number;
}
