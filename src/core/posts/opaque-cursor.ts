import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';

/**
 * Opaque, tamper-evident page cursors: base64url(JSON) + "." + a truncated HMAC-SHA256. Clients
 * cannot forge or edit positions (a tampered cursor is a 400, not a silent jump), and the
 * format can change without breaking them. Every process sharing the secret accepts the cursor.
 */
export class OpaqueCursor {
  private readonly key: Buffer;

  /** `secret`: the deployment's cursor secret, never a credential, so rotating one keeps cursors valid. */
  constructor(secret: string) {
    this.key = createHmac('sha256', 'imagegram cursor key').update(secret).digest();
  }

  /** Encodes `value` (JSON-serialisable) for the page it belongs to (`kind`, e.g. "feed"). */
  encode(kind: string, value: unknown): string {
    const payload = Buffer.from(JSON.stringify([kind, value])).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** Decodes a cursor made by `encode` with the same `kind`. Throws INVALID_CURSOR otherwise. */
  decode(kind: string, cursor: string): unknown {
    const [payload, signature, ...rest] = cursor.split('.');
    const expected = payload ? this.sign(payload) : '';
    if (!payload || !signature || rest.length > 0 || signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) {
      throw new AppError('INVALID_CURSOR');
    }
    const decoded: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (!Array.isArray(decoded) || decoded.length !== 2 || decoded[0] !== kind) throw new AppError('INVALID_CURSOR');
    return decoded[1];
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url').slice(0, 22);
  }
}
