import { v7 as uuidv7 } from 'uuid';

/**
 * A new opaque id. UUIDv7 (RFC 9562) is time-ordered, so fresh rows land at the right edge of the
 * primary-key B-tree instead of scattering like v4 would — cheap inserts at 1M comments.
 */
export function newId(): string {
  return uuidv7();
}
