import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Upload } from 'tus-js-client';

/** How a tus-js-client run ended: the upload finished, or the test stopped it on purpose. */
export type TusOutcome = { finished: true; url: string } | { finished: false; url: string | null };

export interface TusRunOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:1234`. */
  baseUrl: string;
  headers: Record<string, string>;
  /** Resume this upload (a stored URL) instead of creating one. */
  uploadUrl?: string;
  chunkSize?: number;
  /** Called with the bytes sent so far; return true to abort the upload right there. */
  abortWhen?: (bytesSent: number, upload: Upload) => boolean;
  /** Called after each acknowledged chunk; return true to abort before the next one. */
  abortAfterChunk?: (bytesAccepted: number) => boolean;
  /** Awaited before each PATCH is sent, e.g. to pace a slow client. */
  beforePatch?: () => Promise<void>;
  /** Called once the upload URL is known (after creation), e.g. to store it. */
  onUrl?: (url: string) => void;
}

/**
 * Runs the official tus-js-client against the server, the way a phone app would, without retries
 * (a failure must surface, not be papered over). Each call is a fresh client: nothing is carried
 * over between calls but the URL the caller passes back in.
 */
export function runTusUpload(bytes: Buffer, options: TusRunOptions): Promise<TusOutcome> {
  return new Promise((resolve, reject) => {
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      void upload.abort().then(() => resolve({ finished: false, url: upload.url }), reject);
    };
    const upload: Upload = new Upload(bytes, {
      endpoint: `${options.baseUrl}/uploads`,
      uploadUrl: options.uploadUrl ?? null,
      headers: options.headers,
      chunkSize: options.chunkSize ?? Number.POSITIVE_INFINITY,
      retryDelays: null,
      storeFingerprintForResuming: false,
      metadata: { filename: 'photo.png', filetype: 'image/png' },
      onBeforeRequest: async (request) => {
        if (request.getMethod() === 'PATCH') await options.beforePatch?.();
      },
      onUploadUrlAvailable: () => {
        if (upload.url) options.onUrl?.(upload.url);
      },
      onProgress: (bytesSent) => {
        if (options.abortWhen?.(bytesSent, upload)) stop();
      },
      onChunkComplete: (_chunkSize, bytesAccepted) => {
        if (options.abortAfterChunk?.(bytesAccepted)) stop();
      },
      onSuccess: () => resolve({ finished: true, url: upload.url! }),
      onError: (error) => (stopped ? undefined : reject(error)),
    });
    upload.start();
  });
}

/** The server's `Upload-Offset` for an upload (tus HEAD), or the status when it is not 200. */
export async function uploadOffset(url: string, headers: Record<string, string>): Promise<{ status: number; offset: number | null }> {
  const response = await fetch(url, { method: 'HEAD', headers: { ...headers, 'tus-resumable': '1.0.0' } });
  const offset = response.headers.get('upload-offset');
  return { status: response.status, offset: offset === null ? null : Number(offset) };
}

/** Creates an upload with a raw tus POST; returns the response (Location holds the upload path). */
export function createUpload(baseUrl: string, headers: Record<string, string>, length: number | null, extra: Record<string, string> = {}): Promise<Response> {
  const lengthHeader: Record<string, string> = length === null ? {} : { 'upload-length': String(length) };
  return fetch(`${baseUrl}/uploads`, { method: 'POST', headers: { ...headers, 'tus-resumable': '1.0.0', ...lengthHeader, ...extra } });
}

/** Appends bytes with a raw, complete tus PATCH. */
export function patchUpload(url: string, headers: Record<string, string>, offset: number, bytes: Buffer): Promise<Response> {
  return fetch(url, {
    method: 'PATCH',
    headers: { ...headers, 'tus-resumable': '1.0.0', 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
    body: bytes,
  });
}

/**
 * A PATCH announcing `announced` bytes that sends only `sent` of them and then hangs up: the
 * connection drops in the middle of the request body, as on a phone losing its signal.
 */
export async function patchAndHangUp(url: string, headers: Record<string, string>, offset: number, bytes: Buffer, sent: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const request = httpRequest(url, {
      method: 'PATCH',
      headers: {
        ...headers,
        'tus-resumable': '1.0.0',
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
        'content-length': String(bytes.length),
      },
    });
    request.on('error', () => resolve());
    request.on('response', (response) => {
      response.resume();
      resolve();
    });
    request.write(bytes.subarray(0, sent), () => {
      // Give the bytes time to cross loopback, then drop the connection mid-body.
      setTimeout(() => {
        request.destroy();
        resolve();
      }, 200);
    });
  });
}

/** Polls `read` until `done` holds for its value (or the deadline passes); returns the last value. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A PNG of deterministic noise (incompressible: about 3 bytes a pixel), distinct per seed. */
export async function noisePng(width: number, height: number, seed: number): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const raw = Buffer.alloc(width * height * 3);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < raw.length; i++) {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    raw[i] = state & 0xff;
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}
