import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { request } from 'undici';
import type { BenchImage } from './fixtures.js';

/** A request body streamed from disk, with the headers that describe it. */
export interface StreamedBody {
  body: Readable;
  headers: Record<string, string>;
  /** Bytes of the image itself (what MB/s figures count). */
  imageBytes: number;
}

/** The image file as a stream with upload `n`'s tag spliced in: new bytes, no new file. */
async function* taggedImage(image: BenchImage, n: number): AsyncGenerator<Buffer> {
  const tag = image.tag(n);
  if (tag.length !== image.tagLength) throw new Error(`tag of ${tag.length} bytes for a ${image.tagLength}-byte slot`);
  if (image.tagOffset > 0) yield* createReadStream(image.path, { start: 0, end: image.tagOffset - 1, highWaterMark: 256 * 1024 });
  yield tag;
  const rest = image.tagOffset + image.tagLength;
  if (rest < image.size) yield* createReadStream(image.path, { start: rest, highWaterMark: 256 * 1024 });
}

/**
 * `multipart/form-data` with one file part `field` holding upload `n` of `image`, streamed from the
 * file (never a whole-body Buffer) with an exact Content-Length, the way a browser sends a form.
 */
export function multipartImage(image: BenchImage, n: number, field = 'image'): StreamedBody {
  const boundary = `----imagegram-bench-${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${image.filename}"\r\n` + `Content-Type: ${image.contentType}\r\n\r\n`,
    'latin1',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  async function* parts(): AsyncGenerator<Buffer> {
    yield head;
    yield* taggedImage(image, n);
    yield tail;
  }
  return {
    body: Readable.from(parts(), { objectMode: false }),
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(head.length + image.size + tail.length),
    },
    imageBytes: image.size,
  };
}

/** Wall-clock timing of one upload, seen by the client. */
export interface UploadTiming {
  /** Request start until the whole response has arrived. */
  seconds: number;
  imageBytes: number;
}

/**
 * POSTs upload `n` of `image` to `url` as a streamed multipart body; throws unless the answer is
 * 201. `onBodySent` is called when the last byte of the body has been handed to the socket.
 */
export function postImage(url: string, image: BenchImage, n: number, headers: Record<string, string> = {}, onBodySent?: () => void): Promise<UploadTiming> {
  const streamed = multipartImage(image, n);
  if (onBodySent) streamed.body.once('end', onBodySent);
  return post(url, streamed, headers);
}

/** POSTs upload `n` of `image` to `url` as the body itself (no multipart framing); throws unless 201. */
export function postRawImage(url: string, image: BenchImage, n: number): Promise<UploadTiming> {
  const body = Readable.from(taggedImage(image, n), { objectMode: false });
  return post(url, { body, headers: { 'content-type': image.contentType, 'content-length': String(image.size) }, imageBytes: image.size }, {});
}

async function post(url: string, { body, headers: bodyHeaders, imageBytes }: StreamedBody, headers: Record<string, string>): Promise<UploadTiming> {
  const start = performance.now();
  const response = await request(url, { method: 'POST', headers: { ...bodyHeaders, ...headers }, body });
  const text = await response.body.text();
  const seconds = (performance.now() - start) / 1000;
  if (response.statusCode !== 201) throw new Error(`POST ${url} answered ${response.statusCode}: ${text.slice(0, 300)}`);
  return { seconds, imageBytes };
}
