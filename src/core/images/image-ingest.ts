import type { Readable } from 'node:stream';
import type { BlobStore } from '../../ports/blob-store.js';
import type { ImageLimits, ImageProcessor } from '../../ports/image-processor.js';
import type { StoreSlice } from '../../ports/store-slice.js';
import type { StagedFile, StagingArea } from '../../ports/staging-area.js';
import type { StagedImage } from './image-source.js';
import { BlobPins } from '../blobs/blob-pins.js';
import { type DecodeBudget, describe } from './decode-budget.js';
import { AppError } from '../errors.js';
import type { JobWakeup } from '../jobs/job-wakeup.js';
import { newId } from '../ids.js';
import { derivativeKey, originalKey } from './blob-keys.js';
import { imageCreatedEvent } from './image-events.js';
import { type Image, type ImageProbe, noPhotoMetadata, ownerOnlySharing } from './image.js';
import type { ImageIngested, IngestListener } from './image-ingested.js';

export interface ImageIngestOptions extends ImageLimits {
  /** Largest original accepted, in bytes. */
  maxBytes: number;
  /** Memory (and decodes) shared by every decode in this process; see DecodeBudget. */
  decodeBudget: DecodeBudget;
  now?: () => number;
}

export interface IngestResult {
  image: Image;
  /** True when the owner already had these exact bytes: nothing new was stored. */
  duplicate: boolean;
}

export interface ImageIngestDependencies {
  store: StoreSlice<'blobRecords' | 'events' | 'images' | 'jobs'>;
  blobs: BlobStore;
  staging: StagingArea;
  processor: ImageProcessor;
  /** Tells this process's job worker that a metadata job was enqueued. */
  wakeup?: JobWakeup;
  /** Told of every ingest and every refusal, however the bytes came (e.g. the upload metrics). */
  onImageIngested?: IngestListener;
}

/**
 * The one path by which bytes become an Image: stage and hash while streaming, detect
 * and bound the format from the header, pin the blob against garbage collection while rendering
 * the derivative, write the derivative and promote the original into the content-addressed store
 * (both at once), then commit the row, its events and its metadata job. Bytes are durable before
 * the row that points at them commits, so a crash leaves at worst an unreferenced blob for GC.
 */
export class ImageIngest {
  private readonly now: () => number;
  private readonly pins: BlobPins;

  constructor(
    private readonly deps: ImageIngestDependencies,
    private readonly options: ImageIngestOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.pins = new BlobPins(deps, { now: this.now });
  }

  /** Ingests an upload arriving as a stream. Throws IMAGE_TOO_LARGE, UNSUPPORTED_FORMAT, CORRUPT_IMAGE, IMAGE_DIMENSIONS_TOO_LARGE. */
  async ingestStream(ownerId: string, source: Readable): Promise<IngestResult> {
    const staged = await this.stage(source);
    try {
      return await this.ingestStaged(ownerId, staged);
    } finally {
      await staged.discard();
    }
  }

  /**
   * Receives bytes into staging (hashed, size-checked, fsync started) without looking at them
   * yet, so a transport can validate the rest of a request before anything is created. Throws
   * IMAGE_TOO_LARGE.
   */
  async stage(source: Readable): Promise<StagedFile> {
    try {
      return await this.deps.staging.receive(source, this.options.maxBytes);
    } catch (error) {
      this.tell({ outcome: 'refused', ownerId: null, error });
      throw error;
    }
  }

  /**
   * Ingests bytes already staged and hashed (e.g. a finished resumable upload), telling
   * `onImageIngested` what became of them. The caller discards `staged`.
   */
  async ingestStaged(ownerId: string, staged: StagedImage): Promise<IngestResult> {
    let result: IngestResult;
    try {
      result = await this.ingestUntold(ownerId, staged);
    } catch (error) {
      this.tell({ outcome: 'refused', ownerId, error });
      throw error;
    }
    const { image, duplicate } = result;
    this.tell({ outcome: duplicate ? 'duplicate' : 'created', ownerId, image, size: staged.size });
    return result;
  }

  /** A listener's failure must not turn a stored image into an error, nor hide the real one. */
  private tell(event: ImageIngested): void {
    try {
      this.deps.onImageIngested?.(event);
    } catch {
      // Observers are told, not consulted: losing one notice is better than failing the upload.
    }
  }

  private async ingestUntold(ownerId: string, staged: StagedImage): Promise<IngestResult> {
    const { store, blobs, processor } = this.deps;
    const existing = await store.images.findByOwnerAndHash(ownerId, staged.sha256);
    // A duplicate costs nothing, unless its original vanished: then these bytes put it back.
    if (existing?.status === 'ready' && (await blobs.head(originalKey(staged.sha256)))) return { image: existing, duplicate: true };

    const probe = await processor.probe(staged.path);
    this.checkDimensions(probe);
    this.options.decodeBudget.assertFits(probe.decodeBytes, describe(probe));
    // From here on this ingest writes or relies on blob bytes: hold them against collection. The
    // render only reads the staged file, so it runs while the pin commits.
    const [pinned, rendered] = await Promise.allSettled([this.pins.pin(staged.sha256, staged.size), this.renderDerivative(staged.path, probe)]);
    if (pinned.status === 'rejected') throw pinned.reason;
    const pin = pinned.value;
    let committed = false;
    try {
      if (rendered.status === 'rejected') throw rendered.reason;
      await settledInOrder([blobs.put(derivativeKey(staged.sha256), rendered.value), this.promoteOriginal(staged)]);
      const now = this.now();
      const candidate: Image = {
        id: newId(),
        ownerId,
        sha256: staged.sha256,
        format: probe.format,
        width: probe.width,
        height: probe.height,
        size: staged.size,
        status: 'ready',
        createdAt: now,
        uploadCompletedAt: now,
        // EXIF is read by a job: it is for stats and the owner's eyes, not needed to answer.
        ...noPhotoMetadata,
        metadataExtractedAt: null,
        ...ownerOnlySharing,
      };
      const result = await store.transaction(async (tx) => {
        let result = await tx.images.insertOrGetExisting(candidate);
        if (!result.created && result.image.uploadCompletedAt === null) {
          // The owner's row existed without its bytes (an upload that never completed): here they are.
          if (await tx.images.markUploadCompleted(result.image.id, now)) {
            await tx.blobRecords.unpin(pin.id);
            await tx.events.append({ type: 'UploadCompleted', actorId: ownerId, subjectId: result.image.id, payload: { repairedBy: 'upload' } });
            // Its EXIF was never read either (read repair queues the same job when it completes a row).
            if (result.image.metadataExtractedAt === null) {
              await tx.jobs.enqueue(
                { name: 'image.extract-metadata', payload: { imageId: result.image.id }, key: `image.extract-metadata:${result.image.id}` },
                now,
              );
            }
            // Not a duplicate: these are the bytes the row was waiting for (201, like a new image).
            return { image: { ...result.image, status: 'ready' as const, uploadCompletedAt: now }, created: true };
          }
          // Retired by garbage collection in between: the candidate takes its place.
          result = await tx.images.insertOrGetExisting(candidate);
        }
        await tx.blobRecords.unpin(pin.id);
        if (result.created) {
          await tx.jobs.enqueue({ name: 'image.extract-metadata', payload: { imageId: candidate.id }, key: `image.extract-metadata:${candidate.id}` }, now);
          await tx.events.append(imageCreatedEvent(candidate), { type: 'UploadCompleted', actorId: ownerId, subjectId: candidate.id, payload: {} });
        }
        return result;
      });
      committed = true;
      if (result.created) this.deps.wakeup?.notify();
      return { image: result.image, duplicate: !result.created };
    } finally {
      if (!committed) await pin.release();
    }
  }

  /**
   * Puts the original into the content-addressed store: a no-op when the blob exists, a few ms
   * against hundreds for the render (bench/dedup-timing.ts); on S3 it skips a whole upload (see
   * docs/operations.md). Staged bytes have been syncing since their last byte arrived: once that
   * is done, a local store links them into place without syncing them again.
   */
  private async promoteOriginal(staged: StagedImage): Promise<void> {
    await staged.durable;
    await this.deps.blobs.putFile(originalKey(staged.sha256), staged.path, { sourceSynced: staged.durable !== undefined });
  }

  /** Decided from the header, before any pixel is decoded (pixel bombs are 422). */
  private checkDimensions(probe: ImageProbe): void {
    const { maxPixels, maxDimension } = this.options;
    if (probe.width * probe.height > maxPixels || probe.width > maxDimension || probe.height > maxDimension) {
      throw new AppError(
        'IMAGE_DIMENSIONS_TOO_LARGE',
        `${probe.width}×${probe.height} exceeds the limit of ${maxPixels} pixels or ${maxDimension} pixels a side`,
        { maxPixels, maxDimension },
      );
    }
  }

  /**
   * Renders the derivative, stored even when the blob already has one. Skipping it when another
   * user uploaded the same bytes first answered 10–16× faster, telling anyone whether a given photo
   * is on the server, which uploads must never reveal. Rendering also proves these
   * bytes decode, and writing the result (an atomic replace with identical bytes under the same
   * recipe) keeps the two paths doing the same work, down to the fsync.
   */
  private renderDerivative(path: string, probe: ImageProbe): Promise<Buffer> {
    return this.options.decodeBudget.run(probe.decodeBytes, describe(probe), () => this.deps.processor.renderDerivative(path, probe));
  }
}

/**
 * Waits for every write, then throws the first failure, if any: the caller releases its pin only
 * once nothing it started is still writing blob bytes.
 */
async function settledInOrder(writes: Promise<unknown>[]): Promise<void> {
  for (const outcome of await Promise.allSettled(writes)) {
    if (outcome.status === 'rejected') throw outcome.reason;
  }
}
