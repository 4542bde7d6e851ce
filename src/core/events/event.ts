/** Domain event types written to the event log. */
export type EventType =
  | 'UserRegistered'
  | 'PasswordChanged'
  | 'AccountDeleted'
  | 'ImageCreated'
  | 'UploadCompleted'
  | 'ImageDeleted'
  | 'BlobMissing'
  | 'PostCreated'
  | 'PostEdited'
  | 'PostDeleted'
  | 'CommentAdded'
  | 'CommentDeleted'
  | 'ResumableUploadCreated'
  | 'ResumableUploadFinished'
  | 'ResumableUploadConsumed'
  | 'ResumableUploadTerminated'
  | 'ResumableUploadExpired'
  | 'UploadLinkCreated'
  | 'UploadLinkImageReceived'
  | 'CollectionChanged'
  | 'ImageMetadataExtracted'
  | 'DerivativeRendered'
  | 'BlobRestored'
  | 'BlobDeleted';

/** An event as appended; position and time are assigned by the log. */
export interface NewEvent {
  type: EventType;
  /** Who caused it: a user id, or null for the system. */
  actorId: string | null;
  /** The id of the thing it is about. */
  subjectId: string;
  /** Small JSON payload; never a password or token. */
  payload: Record<string, unknown>;
}

export interface StoredEvent extends NewEvent {
  /** Monotonically increasing position in the log. */
  position: number;
  at: number;
}
