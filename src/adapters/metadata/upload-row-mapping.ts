import type { Selectable } from 'kysely';
import type { ResumableUpload } from '../../core/uploads/resumable-upload.js';
import type { UploadLink } from '../../core/uploads/upload-link.js';
import type { UploadLinksTable, UploadsTable } from './schema.js';

/** Upload and upload-link rows become domain objects and back only here. */

export function uploadToRow(upload: ResumableUpload): UploadsTable {
  return {
    id: upload.id,
    owner_id: upload.ownerId,
    size: upload.size,
    received: upload.received,
    sha256: upload.sha256,
    created_at: upload.createdAt,
    expires_at: upload.expiresAt,
    finished_at: upload.finishedAt,
    claimed_until: upload.claimedUntil,
    consumed_at: upload.consumedAt,
    image_id: upload.imageId,
  };
}

export function uploadFromRow(row: Selectable<UploadsTable>): ResumableUpload {
  return {
    id: row.id,
    ownerId: row.owner_id,
    size: row.size,
    received: row.received,
    sha256: row.sha256,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    finishedAt: row.finished_at,
    claimedUntil: row.claimed_until,
    consumedAt: row.consumed_at,
    imageId: row.image_id,
  };
}

export function uploadLinkToRow(link: UploadLink): UploadLinksTable {
  return {
    id: link.id,
    token_hash: link.tokenHash,
    owner_id: link.ownerId,
    created_at: link.createdAt,
    expires_at: link.expiresAt,
    max_bytes: link.maxBytes,
    max_images: link.maxImages,
    used_bytes: link.usedBytes,
    used_images: link.usedImages,
  };
}

export function uploadLinkFromRow(row: Selectable<UploadLinksTable>): UploadLink {
  return {
    id: row.id,
    tokenHash: row.token_hash,
    ownerId: row.owner_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    maxBytes: row.max_bytes,
    maxImages: row.max_images,
    usedBytes: row.used_bytes,
    usedImages: row.used_images,
  };
}
