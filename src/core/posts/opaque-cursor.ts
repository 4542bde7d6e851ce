import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';

/**
 * Opaque, tamper-evident page cursors: base64url(JSON) + "." + a truncated HMAC-SHA256. Clients
 * cannot forge or edit positions (a tampered cursor is a 400, not a silent jump), and the
 * format can change without breaking them. Every process sharing the secret accepts the cursor.
 */
export class OpaqueCursor {
  private readonly key: Buffer;
  /** HMAC's inner block (key ⊕ ipad) followed by room for a payload, reused by every signature. */
  private readonly inner = Buffer.alloc(blockBytes + 1024);
  /** HMAC's outer block (key ⊕ opad) followed by the inner digest. */
  private readonly outer = Buffer.alloc(blockBytes + 32);

  /** `secret`: the deployment's cursor secret, never a credential, so rotating one keeps cursors valid. */
  constructor(secret: string) {
    this.key = createHmac('sha256', 'imagegram cursor key').update(secret).digest();
    for (let i = 0; i < blockBytes; i++) {
      const keyByte = this.key[i] ?? 0;
      this.inner[i] = keyByte ^ 0x36;
      this.outer[i] = keyByte ^ 0x5c;
    }
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

  /**
   * HMAC-SHA256 (RFC 2104) of `payload`, truncated. A page signs one cursor per edge, so this is
   * hot: two one-shot hashes over buffers laid out once beat createHmac's objects and key setup
   * (payloads are base64url, one byte per character; a longer one than the buffer takes createHmac).
   */
  private sign(payload: string): string {
    if (payload.length > this.inner.length - blockBytes) return createHmac('sha256', this.key).update(payload).digest('base64url').slice(0, 22);
    const end = blockBytes + this.inner.write(payload, blockBytes, 'latin1');
    hash('sha256', this.inner.subarray(0, end), 'buffer').copy(this.outer, blockBytes);
    return hash('sha256', this.outer, 'base64url').slice(0, 22);
  }
}

/** SHA-256's block size: HMAC pads its key to it. */
const blockBytes = 64;
