import type { Selectable } from 'kysely';
import type { NewEvent, StoredEvent } from '../../core/events/event.js';
import type { Image, ImageFormat, ImageStatus } from '../../core/images/image.js';
import type { Session, User } from '../../core/users/user.js';
import type { EventsTable, ImagesTable, SessionsTable, UsersTable } from './schema.js';

/** Rows become domain objects and back only here and in post-row-mapping.ts. */

/**
 * The comparison key that makes usernames unique case-insensitively. Computed in JavaScript, not
 * with SQL `lower()`, so both databases agree on non-ASCII letters.
 */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

export function userToRow(user: User): UsersTable {
  return {
    id: user.id,
    username: user.username,
    username_key: usernameKey(user.username),
    password_hash: user.passwordHash,
    created_at: user.createdAt,
  };
}

export function userFromRow(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
  };
}

export function sessionToRow(session: Session): SessionsTable {
  return {
    token_hash: session.tokenHash,
    user_id: session.userId,
    created_at: session.createdAt,
    expires_at: session.expiresAt,
  };
}

export function sessionFromRow(row: Selectable<SessionsTable>): Session {
  return {
    tokenHash: row.token_hash,
    userId: row.user_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export function imageToRow(image: Image): ImagesTable {
  return {
    id: image.id,
    owner_id: image.ownerId,
    sha256: image.sha256,
    format: image.format,
    width: image.width,
    height: image.height,
    size: image.size,
    status: image.status,
    created_at: image.createdAt,
    upload_completed_at: image.uploadCompletedAt,
    camera_make: image.cameraMake,
    camera_model: image.cameraModel,
    taken_at: image.takenAt,
    has_gps: image.hasGps ? 1 : 0,
    gps_latitude: image.gpsLatitude,
    gps_longitude: image.gpsLongitude,
    metadata_extracted_at: image.metadataExtractedAt,
    share_location: image.sharesLocation ? 1 : 0,
    share_taken_at: image.sharesTakenAt ? 1 : 0,
  };
}

export function imageFromRow(row: Selectable<ImagesTable>): Image {
  return {
    id: row.id,
    ownerId: row.owner_id,
    sha256: row.sha256,
    // Only the core writes these columns, from the same closed unions.
    format: row.format as ImageFormat,
    width: row.width,
    height: row.height,
    size: row.size,
    status: row.status as ImageStatus,
    createdAt: row.created_at,
    uploadCompletedAt: row.upload_completed_at,
    cameraMake: row.camera_make,
    cameraModel: row.camera_model,
    takenAt: row.taken_at,
    hasGps: row.has_gps === 1,
    gpsLatitude: row.gps_latitude,
    gpsLongitude: row.gps_longitude,
    metadataExtractedAt: row.metadata_extracted_at,
    sharesLocation: row.share_location === 1,
    sharesTakenAt: row.share_taken_at === 1,
  };
}

export function eventToRow(event: NewEvent, at: number): Omit<EventsTable, 'position'> {
  return {
    type: event.type,
    actor_id: event.actorId,
    subject_id: event.subjectId,
    at,
    payload: JSON.stringify(event.payload),
  };
}

export function eventFromRow(row: Selectable<EventsTable>): StoredEvent {
  return {
    position: row.position,
    type: row.type as StoredEvent['type'],
    actorId: row.actor_id,
    subjectId: row.subject_id,
    at: row.at,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
  };
}
