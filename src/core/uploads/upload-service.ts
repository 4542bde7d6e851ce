import type { StoreSlice } from '../../ports/store-slice.js';
import type { UploadFiles } from '../../ports/upload-files.js';
import { AppError } from '../errors.js';
import type { ImageIngest, IngestResult } from '../images/image-ingest.js';
import type { ResumableUpload } from './resumable-upload.js';
import { isUploadId } from './upload-id.js';

export interface UploadServiceDependencies {
  store: StoreSlice<'events' | 'uploads'>;
  files: UploadFiles;
  ingest: ImageIngest;
}

export interface UploadServiceOptions {
  /** How long an upload may take from creation to being used, in ms (default 24 h). */
  expiryMs: number;
  /** Largest `Upload-Length` accepted: the image size limit. */
  maxBytes: number;
  /** How long a consume holds its upload before a crashed one counts as abandoned (default 10 min). */
  claimMs?: number;
  now?: () => number;
}

/**
 * The resumable-upload use cases, knowing nothing of the protocol that carries the bytes: who may
 * create and touch an upload, what happens when its last byte arrives, and how a finished upload
 * becomes an image — through `ImageIngest.ingestStaged`, the one ingest path, exactly once.
 */
export class UploadService {
  private readonly now: () => number;
  private readonly claimMs: number;

  constructor(
    private readonly deps: UploadServiceDependencies,
    private readonly options: UploadServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.claimMs = options.claimMs ?? 10 * 60_000;
  }

  /** Refuses an upload length before anything is stored. Throws VALIDATION_FAILED, IMAGE_TOO_LARGE. */
  assertAcceptableLength(length: number): void {
    const { maxBytes } = this.options;
    if (!Number.isSafeInteger(length) || length < 1) {
      throw new AppError('VALIDATION_FAILED', `Upload-Length must be an integer from 1 to ${maxBytes}`);
    }
    if (length > maxBytes) {
      throw new AppError('IMAGE_TOO_LARGE', `Upload-Length ${length} exceeds the ${maxBytes}-byte limit`, { limit: maxBytes });
    }
  }

  /** Registers a new upload of `size` bytes for its owner, before its bytes are created. Throws as assertAcceptableLength. */
  async begin(ownerId: string, id: string, size: number): Promise<ResumableUpload> {
    this.assertAcceptableLength(size);
    const createdAt = this.now();
    const upload: ResumableUpload = {
      id,
      ownerId,
      size,
      received: 0,
      sha256: null,
      createdAt,
      expiresAt: createdAt + this.options.expiryMs,
      finishedAt: null,
      claimedUntil: null,
      consumedAt: null,
      imageId: null,
    };
    await this.deps.store.transaction(async (tx) => {
      await tx.uploads.insert(upload);
      await tx.events.append({ type: 'ResumableUploadCreated', actorId: ownerId, subjectId: id, payload: { size } });
    });
    return upload;
  }

  /**
   * The user's upload. Throws UPLOAD_NOT_FOUND for unknown or malformed ids and for other users'
   * uploads alike (whether someone else has that id is nobody's business), UPLOAD_EXPIRED once it
   * expired unused.
   */
  async requireOwn(userId: string, id: string): Promise<ResumableUpload> {
    const upload = isUploadId(id) ? await this.deps.store.uploads.findById(id) : null;
    if (!upload || upload.ownerId !== userId) throw new AppError('UPLOAD_NOT_FOUND', `You have no upload with id ${id}`);
    if (upload.consumedAt === null && upload.expiresAt <= this.now()) {
      throw new AppError('UPLOAD_EXPIRED', `The upload expired at ${new Date(upload.expiresAt).toISOString()}`);
    }
    return upload;
  }

  /** Records how many bytes have arrived (progress, for admins and clients); a no-op once finished or gone. */
  async recordProgress(id: string): Promise<void> {
    const received = await this.deps.files.received(id);
    if (received !== null) await this.deps.store.uploads.recordReceived(id, received);
  }

  /**
   * Called when the last byte has arrived: re-hashes the bytes (the protocol offers no checksum
   * we could trust), syncs them to disk and marks the upload finished. Idempotent. Throws
   * UPLOAD_NOT_FOUND when the upload was removed meanwhile, UPLOAD_NOT_FINISHED when bytes are missing.
   */
  async finish(id: string): Promise<ResumableUpload> {
    const upload = await this.deps.store.uploads.findById(id);
    if (!upload) throw new AppError('UPLOAD_NOT_FOUND', `No upload with id ${id}`);
    if (upload.finishedAt !== null) return upload;
    const { sha256, size } = await this.deps.files.seal(id);
    if (size !== upload.size) {
      throw new AppError('UPLOAD_NOT_FINISHED', `${size} of ${upload.size} bytes have arrived`, { received: size, size: upload.size });
    }
    const finishedAt = this.now();
    await this.deps.store.transaction(async (tx) => {
      if (await tx.uploads.markFinished(id, sha256, finishedAt)) {
        await tx.events.append({ type: 'ResumableUploadFinished', actorId: upload.ownerId, subjectId: id, payload: { size, sha256 } });
      }
    });
    return { ...upload, sha256, finishedAt, received: size };
  }

  /**
   * Terminates the user's upload (tus termination): the row goes first, so nothing can consume it
   * any more, then its bytes. Throws UPLOAD_NOT_FOUND, UPLOAD_ALREADY_CONSUMED, UPLOAD_IN_USE.
   */
  async terminate(userId: string, id: string): Promise<void> {
    const upload = isUploadId(id) ? await this.deps.store.uploads.findById(id) : null;
    if (!upload || upload.ownerId !== userId) throw new AppError('UPLOAD_NOT_FOUND', `You have no upload with id ${id}`);
    const now = this.now();
    const deleted = await this.deps.store.transaction(async (tx) => {
      if (!(await tx.uploads.deleteIdle(id, now))) return false;
      await tx.events.append({ type: 'ResumableUploadTerminated', actorId: userId, subjectId: id, payload: { received: upload.received } });
      return true;
    });
    if (!deleted) throw await this.whyUnavailable(userId, id, now);
    await this.deps.files.remove(id);
  }

  /**
   * Turns the user's finished upload into an image through the one ingest path (format, limits,
   * dedup, derivative), at most once: a second consume is UPLOAD_ALREADY_CONSUMED (its `imageId`
   * says which image it became). An upload whose last byte arrived but was never marked finished
   * (a crash in between) is finished here. Throws UPLOAD_NOT_FOUND, UPLOAD_EXPIRED,
   * UPLOAD_NOT_FINISHED, UPLOAD_ALREADY_CONSUMED, UPLOAD_IN_USE, and ingest's errors (then the
   * upload stays unconsumed and nothing is created).
   */
  async consume(userId: string, id: string): Promise<IngestResult> {
    let upload = await this.requireOwn(userId, id);
    if (upload.consumedAt !== null) throw alreadyConsumed(upload);
    if (upload.finishedAt === null) upload = await this.finishIfComplete(upload);
    const now = this.now();
    if (!(await this.deps.store.uploads.claim(id, userId, now, now + this.claimMs))) {
      throw await this.whyUnavailable(userId, id, now);
    }
    let result: IngestResult;
    try {
      const file = await this.deps.files.localFile(id);
      try {
        result = await this.deps.ingest.ingestStaged(userId, { path: file.path, sha256: upload.sha256!, size: upload.size });
      } finally {
        await file.release();
      }
    } catch (error) {
      await this.deps.store.uploads.releaseClaim(id);
      throw error;
    }
    const { image, duplicate } = result;
    await this.deps.store.transaction(async (tx) => {
      await tx.uploads.markConsumed(id, image.id, this.now());
      await tx.events.append({ type: 'ResumableUploadConsumed', actorId: userId, subjectId: id, payload: { imageId: image.id, duplicate } });
    });
    // The bytes now live in the blob store. Should this fail, the sweep removes them at expiry.
    await this.deps.files.remove(id).catch(() => {});
    return result;
  }

  private async finishIfComplete(upload: ResumableUpload): Promise<ResumableUpload> {
    const received = (await this.deps.files.received(upload.id)) ?? 0;
    if (received < upload.size) {
      throw new AppError('UPLOAD_NOT_FINISHED', `${received} of ${upload.size} bytes have arrived: resume the upload first`, { received, size: upload.size });
    }
    return this.finish(upload.id);
  }

  /** Explains why a conditional write on the user's upload matched no row. */
  private async whyUnavailable(userId: string, id: string, now: number): Promise<AppError> {
    const upload = await this.deps.store.uploads.findById(id);
    if (!upload || upload.ownerId !== userId) return new AppError('UPLOAD_NOT_FOUND', `You have no upload with id ${id}`);
    if (upload.consumedAt !== null) return alreadyConsumed(upload);
    if (upload.claimedUntil !== null && upload.claimedUntil > now) {
      return new AppError('UPLOAD_IN_USE', 'Another request is turning this upload into an image right now');
    }
    if (upload.expiresAt <= now) return new AppError('UPLOAD_EXPIRED', `The upload expired at ${new Date(upload.expiresAt).toISOString()}`);
    return new AppError('UPLOAD_NOT_FINISHED', 'The upload has not finished', { received: upload.received, size: upload.size });
  }
}

function alreadyConsumed(upload: ResumableUpload): AppError {
  return new AppError('UPLOAD_ALREADY_CONSUMED', `This upload already became image ${upload.imageId}`, { imageId: upload.imageId });
}
