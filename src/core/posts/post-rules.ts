import { AppError } from '../errors.js';

/** A caption is 0–2,200 characters, a comment body 1–1,000. */
export const captionMaxLength = 2_200;
export const commentMaxLength = 1_000;

/** Characters as people count them (code points), not UTF-16 units: an emoji is one character. */
function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/** Throws VALIDATION_FAILED unless `caption` is a string of at most 2,200 characters. */
export function assertValidCaption(caption: unknown): asserts caption is string {
  if (typeof caption !== 'string') throw new AppError('VALIDATION_FAILED', 'caption must be a string');
  if (characterCount(caption) > captionMaxLength) {
    throw new AppError('VALIDATION_FAILED', `caption must be at most ${captionMaxLength} characters`, { field: 'caption', maxLength: captionMaxLength });
  }
}

/** Throws VALIDATION_FAILED unless `body` has 1–1,000 characters and is not only whitespace. */
export function assertValidCommentBody(body: unknown): asserts body is string {
  if (typeof body !== 'string' || body.trim().length === 0) {
    throw new AppError('VALIDATION_FAILED', 'body must be a non-blank string', { field: 'body' });
  }
  if (characterCount(body) > commentMaxLength) {
    throw new AppError('VALIDATION_FAILED', `body must be at most ${commentMaxLength} characters`, { field: 'body', maxLength: commentMaxLength });
  }
}

/** A page's `limit` is 1–100. */
export const pageLimitMax = 100;

/** Throws VALIDATION_FAILED unless `limit` is an integer from 1 to 100. */
export function assertPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > pageLimitMax) {
    throw new AppError('VALIDATION_FAILED', `limit must be an integer from 1 to ${pageLimitMax}`, { field: 'limit' });
  }
}
