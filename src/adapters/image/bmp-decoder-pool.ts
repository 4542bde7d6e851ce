import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { AppError } from '../../core/errors.js';
import type { BmpHeader } from './bmp-header.js';
import type { BmpRenderResult, BmpRenderTask } from './bmp-decode.worker.js';

// `.ts` under tsx, `.js` once compiled to dist/: the worker sits next to this module either way.
const workerFile = new URL(`./bmp-decode.worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * Worker threads that decode BMPs and render their derivatives, so the event loop keeps serving
 * requests meanwhile. Two threads: the dev machine has two cores, and sharp wants the rest. How
 * many run at once is the decode budget's business; two is only the most.
 */
export class BmpDecoderPool {
  private readonly pool = new Piscina<BmpRenderTask, BmpRenderResult>({
    filename: workerFile.href,
    minThreads: 0,
    maxThreads: 2,
    // Idle threads exit so a server that never sees a BMP holds no decoder memory.
    idleTimeout: 30_000,
  });

  /**
   * Renders the derivative JPEG of the BMP at `path`, whose header the caller has parsed and checked
   * against the limits. Throws CORRUPT_IMAGE for undecodable pixel data. A crashed or terminated
   * worker, or sharp failing, rejects with its own error for the caller to translate.
   */
  async renderDerivative(path: string, header: BmpHeader, fileSize: number, maxPixels: number): Promise<Buffer> {
    const result = await this.pool.run({ path, header, fileSize, maxPixels });
    if (!result.ok) throw new AppError('CORRUPT_IMAGE', result.detail);
    return Buffer.from(result.jpeg, 0, result.byteLength);
  }

  /** Waits for running decodes, then stops the threads. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}
