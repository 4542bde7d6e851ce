import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { AppError } from '../../core/errors.js';
import type { BmpHeader } from './bmp-header.js';
import type { BmpRenderResult, BmpRenderTask } from './bmp-decode.worker.js';

// `.ts` under tsx, `.js` once compiled to dist/: the worker sits next to this module either way.
const workerFile = new URL(`./bmp-decode.worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * A `.ts` worker needs tsx's loader in its own thread. `node --import tsx` passes it on through
 * execArgv, but tsx registered from code (bin/imagegram.js running the sources when dist/ is stale)
 * does not reach worker threads, and the worker would fail to load.
 */
const workerExecArgv =
  workerFile.pathname.endsWith('.ts') && !process.execArgv.some((arg) => arg.includes('tsx')) ? [...process.execArgv, '--import', 'tsx'] : undefined;

/**
 * Worker threads that decode BMPs and render their derivatives, so the event loop keeps serving
 * requests meanwhile. Two threads: the dev machine has two cores, and sharp wants the rest. How
 * many run at once is the decode budget's business; two is only the most.
 */
export class BmpDecoderPool {
  private readonly pool: Piscina<BmpRenderTask, BmpRenderResult>;
  /** One per task in flight: a worker that fails to start leaves its task pending for good. */
  private readonly running = new Set<AbortController>();

  /** `execArgv` for the decoder threads; the default loads the worker from dist/ or through tsx. */
  constructor(execArgv: string[] | undefined = workerExecArgv) {
    this.pool = new Piscina<BmpRenderTask, BmpRenderResult>({
      filename: workerFile.href,
      execArgv,
      minThreads: 0,
      maxThreads: 2,
      // Idle threads exit so a server that never sees a BMP holds no decoder memory.
      idleTimeout: 30_000,
    });
    // Piscina reports a worker that cannot load (or dies outside a task) only as a pool 'error'
    // event, unhandled an uncaught exception, while the task it was given never settles. Fail the
    // tasks in flight instead, so their uploads get an answer.
    this.pool.on('error', (error: unknown) => {
      for (const controller of this.running) controller.abort(error);
    });
  }

  /**
   * Renders the derivative JPEG of the BMP at `path`, whose header the caller has parsed and checked
   * against the limits. Throws CORRUPT_IMAGE for undecodable pixel data. A crashed or terminated
   * worker, or sharp failing, rejects with its own error for the caller to translate.
   */
  async renderDerivative(path: string, header: BmpHeader, fileSize: number, maxPixels: number): Promise<Buffer> {
    const controller = new AbortController();
    this.running.add(controller);
    let result: BmpRenderResult;
    try {
      result = await this.pool.run({ path, header, fileSize, maxPixels }, { signal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted) throw new BmpDecoderUnavailable(controller.signal.reason);
      throw error;
    } finally {
      this.running.delete(controller);
    }
    if (!result.ok) throw new AppError('CORRUPT_IMAGE', result.detail);
    return Buffer.from(result.jpeg, 0, result.byteLength);
  }

  /** Waits for running decodes, then stops the threads. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** The decoder threads could not run (e.g. a worker that fails to load): the server's fault, not the image's. */
export class BmpDecoderUnavailable extends Error {
  constructor(cause: unknown) {
    super(`the BMP decoder thread failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
