import type { Image } from './image.js';

/**
 * What became of one attempt to turn bytes into an image, whatever carried them (REST, GraphQL, a
 * post's multipart body, an upload link, a resumable upload, an import): a new image, one the
 * owner already had, or the error that refused the bytes.
 */
export type ImageIngested =
  | { outcome: 'created' | 'duplicate'; ownerId: string; image: Image; size: number }
  /** `ownerId` is null when the bytes were refused while being staged, before an owner was named. */
  | { outcome: 'refused'; ownerId: string | null; error: unknown };

/** Hears every ingest (metrics, and anything else that must see them all). Must not throw. */
export type IngestListener = (event: ImageIngested) => void;
