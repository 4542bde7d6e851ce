import { AppError } from '../errors.js';

/** A named, unordered set of one user's images. */
export interface Collection {
  id: string;
  ownerId: string;
  /** 1–100 characters, not blank. */
  name: string;
  createdAt: number;
}

/** What changed in a collection, as recorded by its `CollectionChanged` event. */
export type CollectionChange = 'created' | 'renamed' | 'deleted' | 'imagesAdded' | 'imagesRemoved';

export const collectionNameMaxLength = 100;
/** Images one add or remove call may name: keeps one write's transaction short. */
export const imagesPerChangeMax = 100;

/** Throws VALIDATION_FAILED unless `name` has 1–100 characters (code points) and is not only whitespace. */
export function assertValidCollectionName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.trim().length === 0) {
    throw new AppError('VALIDATION_FAILED', 'name must be a non-blank string', { field: 'name' });
  }
  if ([...name].length > collectionNameMaxLength) {
    throw new AppError('VALIDATION_FAILED', `name must be at most ${collectionNameMaxLength} characters`, {
      field: 'name',
      maxLength: collectionNameMaxLength,
    });
  }
}

/** The distinct ids of one add/remove call. Throws VALIDATION_FAILED for none, or more than 100. */
export function distinctImageIds(imageIds: readonly string[]): string[] {
  const ids = [...new Set(imageIds)];
  if (ids.length === 0 || ids.length > imagesPerChangeMax) {
    throw new AppError('VALIDATION_FAILED', `name 1–${imagesPerChangeMax} images`, { field: 'imageIds', maxItems: imagesPerChangeMax });
  }
  return ids;
}
