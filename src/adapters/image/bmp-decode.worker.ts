/**
 * Piscina task: decodes one BMP file off the main thread (a 100 MB BMP is a few hundred ms of
 * JavaScript) by streaming it through `decodeBmpWindow`, which holds a chunk of the file and the
 * shrunk window the derivative needs, never the file or a full-size frame; renders the derivative
 * here too, so only the 600×600 JPEG comes back, by transfer.
 */
import { open } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import sharp from 'sharp';
import { BmpDataError, decodeBmpWindow } from './bmp-decoder.js';
import type { BmpHeader } from './bmp-header.js';
import { derivativeSourceWindow, toDerivative } from './derivative-recipe.js';

export interface BmpRenderTask {
  path: string;
  /** Parsed (and checked against the limits) by the caller. */
  header: BmpHeader;
  fileSize: number;
  maxPixels: number;
}

// On a 2-core machine the decoder competes with the main thread for a CPU; a lower priority for
// this thread (on Linux setpriority(0) applies to the calling thread only) keeps request latency
// flat while a BMP decodes (bench: /healthz p99 29 → 18–24 ms). Not permitted everywhere: best effort.
try {
  setPriority(0, 10);
} catch {
  // e.g. a container without the capability: decoding still works, just at normal priority.
}

/**
 * A full collection of this thread's heap. The read chunk and the window's pixels (up to ~20 MB)
 * are garbage once a task ends, but V8 frees large buffers only when it next collects, which an
 * idle thread may not do for its whole 30 s idle life: meanwhile the decode budget has handed that
 * memory to the next decode. Collecting here, off the main thread, costs a few ms.
 */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Expected failures come back as values: Error objects lose their fields crossing threads. */
export type BmpRenderResult = { ok: true; jpeg: ArrayBuffer; byteLength: number } | { ok: false; detail: string };

/** Renders the derivative of `task.path`; see BmpRenderResult. I/O errors, sharp errors and bugs reject. */
export default async function renderBmpFile(task: BmpRenderTask): Promise<BmpRenderResult> {
  let result: BmpRenderResult;
  try {
    result = await render(task);
  } finally {
    collectGarbage();
  }
  if (!result.ok) return result;
  return move({ [transferableSymbol]: [result.jpeg], [valueSymbol]: result }) as unknown as BmpRenderResult;
}

async function render(task: BmpRenderTask): Promise<BmpRenderResult> {
  const { header } = task;
  const window = derivativeSourceWindow(header.width, header.height);
  const handle = await open(task.path, 'r');
  let image;
  try {
    const read = async (target: Uint8Array, position: number) => (await handle.read(target, 0, target.length, position)).bytesRead;
    image = await decodeBmpWindow(read, header, task.fileSize, window);
  } catch (error) {
    if (error instanceof BmpDataError) return { ok: false, detail: error.message };
    throw error;
  } finally {
    await handle.close();
  }
  const { width, height, pixels } = image;
  const jpeg = await toDerivative(sharp(pixels, { raw: { width, height, channels: 3 }, limitInputPixels: task.maxPixels }));
  // A Buffer from sharp may share a pool: copy into a buffer of its own, which can be transferred.
  const own = new Uint8Array(jpeg.byteLength);
  own.set(jpeg);
  return { ok: true, jpeg: own.buffer, byteLength: own.byteLength };
}
