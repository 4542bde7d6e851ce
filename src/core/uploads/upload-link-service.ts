import { randomBytes } from 'node:crypto';
import type { StoreSlice } from '../../ports/store-slice.js';
import type { StagedFile } from '../../ports/staging-area.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import type { Image } from '../images/image.js';
import type { ImageIngest, IngestResult } from '../images/image-ingest.js';
import { hashToken } from '../users/session-tokens.js';
import type { User } from '../users/user.js';
import { linkExpiry, type LinkExpiryInput } from './link-expiry.js';
import { linkOwnerUsername, type UploadLink } from './upload-link.js';

export interface UploadLinkServiceOptions {
  /** Default cap on the bytes a link accepts in total (`UPLOAD_LINK_MAX_BYTES`). */
  maxBytes: number;
  /** Default cap on the images a link accepts (`UPLOAD_LINK_MAX_IMAGES`). */
  maxImages: number;
  /** Longest a link may live (default 366 days). */
  maxLifetimeMs?: number;
  now?: () => number;
}

export interface NewUploadLink extends LinkExpiryInput {
  /** Lower caps than the defaults for this link; higher ones are refused. */
  maxBytes?: number | undefined;
  maxImages?: number | undefined;
}

/** A passwordless, never-verifying hash: a link's owner can never sign in. */
const noPassword = '!link-owner-has-no-password';

/**
 * Upload links: an admin mints an expiring link; anyone holding its token may upload
 * images through it until it expires or its caps are reached. Images belong to the link's own
 * system user, so they are found (and counted, and deduplicated) per link.
 */
export class UploadLinkService {
  private readonly now: () => number;
  private readonly maxLifetimeMs: number;

  constructor(
    private readonly deps: { store: StoreSlice<'events' | 'uploadLinks' | 'users'>; ingest: ImageIngest },
    private readonly options: UploadLinkServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.maxLifetimeMs = options.maxLifetimeMs ?? 366 * 24 * 3_600_000;
  }

  /**
   * Mints a link and its system owner. Returns the token once (only its hash is stored; 256
   * random bits, like session tokens). Throws VALIDATION_FAILED.
   */
  async create(input: NewUploadLink): Promise<{ link: UploadLink; token: string }> {
    const now = this.now();
    const expiresAt = linkExpiry(input, now, this.maxLifetimeMs);
    const maxBytes = cap('maxBytes', input.maxBytes, this.options.maxBytes);
    const maxImages = cap('maxImages', input.maxImages, this.options.maxImages);
    const token = randomBytes(32).toString('base64url');
    const id = newId();
    const owner: User = { id: newId(), username: linkOwnerUsername(id), passwordHash: noPassword, createdAt: now };
    const link: UploadLink = {
      id,
      tokenHash: hashToken(token),
      ownerId: owner.id,
      createdAt: now,
      expiresAt,
      maxBytes,
      maxImages,
      usedBytes: 0,
      usedImages: 0,
    };
    await this.deps.store.transaction(async (tx) => {
      await tx.users.insert(owner);
      await tx.uploadLinks.insert(link);
      await tx.events.append({ type: 'UploadLinkCreated', actorId: null, subjectId: id, payload: { ownerId: owner.id, expiresAt, maxBytes, maxImages } });
    });
    return { link, token };
  }

  /** The live link behind `token`. Throws UPLOAD_LINK_NOT_FOUND, UPLOAD_LINK_EXPIRED. */
  async open(token: string): Promise<UploadLink> {
    const link = await this.deps.store.uploadLinks.findByTokenHash(hashToken(token));
    if (!link) throw new AppError('UPLOAD_LINK_NOT_FOUND', 'No upload link has that token');
    if (link.expiresAt <= this.now()) throw expired(link);
    return link;
  }

  /**
   * Ingests one staged image through the link: counted against its caps first (atomically, so
   * concurrent uploads cannot overshoot), given back if the image is refused. Throws
   * UPLOAD_LINK_EXPIRED, UPLOAD_LINK_FULL and ingest's errors. The caller discards `staged`.
   */
  async receive(link: UploadLink, staged: StagedFile): Promise<IngestResult> {
    const { store, ingest } = this.deps;
    if (!(await store.uploadLinks.reserve(link.id, staged.size, this.now()))) {
      const current = (await store.uploadLinks.findById(link.id)) ?? link;
      if (current.expiresAt <= this.now()) throw expired(current);
      throw new AppError(
        'UPLOAD_LINK_FULL',
        `The link has taken ${current.usedImages} of ${current.maxImages} images and ${current.usedBytes} of ${current.maxBytes} bytes; this image (${staged.size} bytes) does not fit`,
        { maxImages: current.maxImages, maxBytes: current.maxBytes },
      );
    }
    let result: IngestResult;
    try {
      result = await ingest.ingestStaged(link.ownerId, staged);
    } catch (error) {
      await store.uploadLinks.release(link.id, staged.size);
      throw error;
    }
    const payload = { imageId: result.image.id, size: staged.size, duplicate: result.duplicate };
    await store.events.append({ type: 'UploadLinkImageReceived', actorId: link.ownerId, subjectId: link.id, payload });
    return result;
  }

  /** The link with its usage, for admins. Throws UPLOAD_LINK_NOT_FOUND. */
  async get(id: string): Promise<UploadLink> {
    const link = await this.deps.store.uploadLinks.findById(id);
    if (!link) throw new AppError('UPLOAD_LINK_NOT_FOUND', `No upload link with id ${id}`);
    return link;
  }

  /** A page of the images uploaded through the link, newest first, for admins. Throws UPLOAD_LINK_NOT_FOUND. */
  async images(id: string, after: string | null, limit: number): Promise<Image[]> {
    await this.get(id);
    return this.deps.store.uploadLinks.listImages(id, after, limit);
  }
}

function cap(name: string, requested: number | undefined, limit: number): number {
  if (requested === undefined) return limit;
  if (!Number.isSafeInteger(requested) || requested < 1 || requested > limit) {
    throw new AppError('VALIDATION_FAILED', `${name} must be an integer from 1 to ${limit}`);
  }
  return requested;
}

function expired(link: UploadLink): AppError {
  return new AppError('UPLOAD_LINK_EXPIRED', `The link expired at ${new Date(link.expiresAt).toISOString()}`);
}
