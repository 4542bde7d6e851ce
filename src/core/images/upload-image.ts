import type { Readable } from 'node:stream';
import type { UploadService } from '../uploads/upload-service.js';
import type { ImageIngest, IngestResult } from './image-ingest.js';
import type { ImageSource } from './image-source.js';

/** An image source that brings new bytes: an upload to use up, or bytes the request carried. */
export type UploadSource = Exclude<ImageSource, { id: string }>;

/**
 * The command that turns uploaded bytes into one of the owner's images, for every transport:
 * bytes the request carried go through ImageIngest, a finished resumable upload is used up
 * (UploadService.consume, which ingests the same way). Either way ImageIngest tells its listener.
 */
export class UploadImage {
  constructor(private readonly deps: { ingest: Pick<ImageIngest, 'ingestStaged' | 'ingestStream'>; uploads: Pick<UploadService, 'consume'> }) {}

  /**
   * The image (`duplicate` when the owner already had these bytes). The caller discards staged
   * bytes. Throws ingest's errors, and for an upload UploadService.consume's.
   */
  run(ownerId: string, source: UploadSource): Promise<IngestResult> {
    if ('staged' in source) return this.deps.ingest.ingestStaged(ownerId, source.staged);
    return this.deps.uploads.consume(ownerId, source.uploadId);
  }

  /** As `run` for bytes still arriving: staged as they come, ingested, then discarded. Throws ingest's errors. */
  fromStream(ownerId: string, bytes: Readable): Promise<IngestResult> {
    return this.deps.ingest.ingestStream(ownerId, bytes);
  }
}
