import { AppError } from '../errors.js';
import type { ImageProbe } from './image.js';

export interface DecodeBudgetOptions {
  /** Bytes all decodes in flight may hold together. */
  bytes: number;
  /** Decodes in flight at most, whatever their size (sharp uses about one thread each). */
  concurrency: number;
}

/** A share of the budget; call `release()` exactly once (later calls do nothing). */
export interface DecodeShare {
  release(): void;
}

interface Waiter {
  bytes: number;
  grant: (share: DecodeShare) => void;
}

/**
 * The process-wide memory budget for decoding: a FIFO semaphore counted in bytes (and in decodes).
 * Each decode reserves what its decoder will really hold (ImageProbe.decodeBytes) and waits until
 * that much is free, so a burst of decode bombs queues instead of multiplying the process's memory.
 * Strict FIFO: a large decode at the head is not overtaken by small ones behind it, so it never
 * starves; the price is that small ones wait behind it. A decode needing more than the whole budget
 * is refused, not run alone: running it would break the memory ceiling the budget exists to keep.
 */
export class DecodeBudget {
  private freeBytes: number;
  private freeSlots: number;
  private readonly queue: Waiter[] = [];

  constructor(private readonly options: DecodeBudgetOptions) {
    if (!(options.bytes > 0) || !Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError('a decode budget needs a positive byte count and concurrency');
    }
    this.freeBytes = options.bytes;
    this.freeSlots = options.concurrency;
  }

  /** Bytes of the whole budget. */
  get totalBytes(): number {
    return this.options.bytes;
  }

  /** Decodes waiting for their share (for metrics and tests). */
  get waiting(): number {
    return this.queue.length;
  }

  /** Bytes not reserved right now. */
  get availableBytes(): number {
    return this.freeBytes;
  }

  /** Throws IMAGE_DIMENSIONS_TOO_LARGE when `bytes` exceeds the whole budget (so it could never run). */
  assertFits(bytes: number, what: string): void {
    if (bytes > this.options.bytes) {
      const mib = (n: number) => Math.ceil(n / 2 ** 20);
      throw new AppError(
        'IMAGE_DIMENSIONS_TOO_LARGE',
        `Decoding ${what} would take about ${mib(bytes)} MiB of memory; this server decodes at most ${mib(this.options.bytes)} MiB at once`,
        { decodeBytes: bytes, decodeBudgetBytes: this.options.bytes },
      );
    }
  }

  /** Waits (FIFO) until `bytes` are free, then reserves them. Throws like `assertFits`. */
  acquire(bytes: number, what = 'this image'): Promise<DecodeShare> {
    this.assertFits(bytes, what);
    // Never less than one byte: a zero-cost decode still takes a slot and keeps its place in line.
    const reserved = Math.max(1, Math.ceil(bytes));
    return new Promise((grant) => {
      this.queue.push({ bytes: reserved, grant });
      this.dispatch();
    });
  }

  /** Runs `decode` holding `bytes` of the budget, released however it ends. */
  async run<T>(bytes: number, what: string, decode: () => Promise<T>): Promise<T> {
    const share = await this.acquire(bytes, what);
    try {
      return await decode();
    } finally {
      share.release();
    }
  }

  private dispatch(): void {
    for (let head = this.queue[0]; head && head.bytes <= this.freeBytes && this.freeSlots > 0; head = this.queue[0]) {
      this.queue.shift();
      this.freeBytes -= head.bytes;
      this.freeSlots -= 1;
      let released = false;
      const bytes = head.bytes;
      head.grant({
        release: () => {
          if (released) return;
          released = true;
          this.freeBytes += bytes;
          this.freeSlots += 1;
          this.dispatch();
        },
      });
    }
  }
}

/** "this 10000×10000 PNG", for the detail of a refusal. */
export function describe(probe: ImageProbe): string {
  return `this ${probe.width}×${probe.height} ${probe.format.toUpperCase()}`;
}
