import type { BlobStore } from '../../ports/blob-store.js';
import type { ImageProcessor } from '../../ports/image-processor.js';
import type { StoreSlice } from '../../ports/store-slice.js';
import type { JobContext } from '../jobs/job-handlers.js';
import { originalKey } from './blob-keys.js';
import type { PhotoMetadata } from './image.js';

/**
 * The `image.extract-metadata` job: reads EXIF (camera, taken-at, GPS) from an image's original
 * into its row and logs `ImageMetadataExtracted`, which the stats projection counts. The update,
 * its event and the job's completion commit together, so a camera model is counted exactly once
 * even if a worker loses its lease half-way.
 */
export class MetadataExtraction {
  constructor(
    private readonly deps: { store: StoreSlice<'events' | 'images' | 'jobs'>; blobs: BlobStore; processor: ImageProcessor },
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs the job for `imageId`; an image deleted meanwhile is simply done. Throws when the original cannot be read (retried). */
  async run({ imageId }: { imageId: string }, context: JobContext): Promise<void> {
    const { store, blobs } = this.deps;
    const image = await store.images.findById(imageId);
    if (!image) return;
    const local = await blobs.localFile(originalKey(image.sha256));
    // Garbage collection reports and retires images whose bytes vanished; until then, retry.
    if (!local) throw new Error(`the original of image ${imageId} is not in the blob store`);
    let metadata: PhotoMetadata;
    try {
      // The row's format is what ingest probed from these very bytes (content-addressed): no second probe.
      metadata = await this.deps.processor.readMetadata(local.path, image.format);
    } finally {
      await local.release();
    }
    await store.transaction(async (tx) => {
      const current = await tx.images.findById(imageId);
      if (current && (await tx.images.setMetadata(imageId, metadata, this.now()))) {
        await tx.events.append({
          type: 'ImageMetadataExtracted',
          actorId: null,
          subjectId: imageId,
          // GPS coordinates stay in the row (owner-only); the log records only that there were some.
          payload: {
            cameraMake: metadata.cameraMake,
            cameraModel: metadata.cameraModel,
            previousCameraModel: current.cameraModel,
            takenAt: metadata.takenAt,
            hasGps: metadata.hasGps,
          },
        });
      }
      await context.completeIn(tx);
    });
  }
}
