import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { AppError } from '../../core/errors.js';
import type { BmpHeader } from './bmp-header.js';
import type { RawImage } from './bmp-decoder.js';
import type { BmpDecodeResult, BmpDecodeTask } from './bmp-decode.worker.js';

// `.ts` under tsx, `.js` once compiled to dist/: the worker sits next to this module either way.
const workerFile = new URL(`./bmp-decode.worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * Worker threads that decode BMPs, so the event loop keeps serving requests meanwhile.
 * Two threads: the dev machine has two cores, and sharp wants the rest.
 */
export class BmpDecoderPool {
  private readonly pool = new Piscina<BmpDecodeTask, BmpDecodeResult>({
    filename: workerFile.href,
    minThreads: 0,
    maxThreads: 2,
    // Idle threads exit so a server that never sees a BMP holds no decoder memory.
    idleTimeout: 30_000,
  });

  /**
   * Decodes the BMP at `path`, whose header the caller has parsed and checked against the limits.
   * Throws CORRUPT_IMAGE for undecodable pixel data. A crashed or terminated worker rejects with
   * its own error: that is no verdict on the image, and the job should be retried.
   */
  async decode(path: string, header: BmpHeader, fileSize: number): Promise<RawImage> {
    const result = await this.pool.run({ path, header, fileSize });
    if (!result.ok) throw new AppError('CORRUPT_IMAGE', result.detail);
    const { width, height, channels } = result;
    return { width, height, channels, pixels: new Uint8Array(result.pixels, 0, result.byteLength) };
  }

  /** Waits for running decodes, then stops the threads. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}
