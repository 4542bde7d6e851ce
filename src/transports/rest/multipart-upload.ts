import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import type { ImageIngest } from '../../core/images/image-ingest.js';
import type { StagedFile } from '../../ports/staging-area.js';

/** A multipart request's staged image file and its text fields. */
export interface MultipartUpload {
  staged: StagedFile | null;
  /** The part's client-side file name (for reporting only; never trusted for the format). */
  filename: string | null;
  fields: Record<string, string>;
}

/** Room for multipart boundaries and small fields on top of the file itself. */
export const multipartOverheadBytes = 1024 * 1024;

/**
 * Reads a multipart/form-data body: the file part `fileField` is streamed into staging (never
 * buffered), text fields are collected, any other file part is drained and ignored. The caller
 * must `discard()` the staged file. Throws IMAGE_TOO_LARGE (the rest of the body is discarded while
 * streaming) and the multipart limits' errors.
 */
export async function receiveMultipartUpload(request: FastifyRequest, ingest: ImageIngest, maxBytes: number, fileField = 'image'): Promise<MultipartUpload> {
  if (!request.isMultipart()) {
    throw new AppError('IMAGE_MISSING', `Send multipart/form-data with an "${fileField}" file part`);
  }
  assertMultipartBoundary(request);
  const upload: MultipartUpload = { staged: null, filename: null, fields: {} };
  try {
    const parts = request.parts({
      // One byte over the limit lets staging see (and report) the overflow; busboy discards the rest.
      limits: { fileSize: maxBytes + 1, files: 4, fields: 16, parts: 20, fieldSize: 64 * 1024 },
    });
    for await (const part of parts) {
      if (part.type === 'field') {
        if (typeof part.value === 'string') upload.fields[part.fieldname] = part.value;
      } else if (part.fieldname === fileField && upload.staged === null) {
        upload.filename = part.filename || null;
        upload.staged = await ingest.stage(part.file);
      } else {
        part.file.resume();
      }
    }
  } catch (error) {
    await upload.staged?.discard();
    throw isMalformedMultipart(error) ? new AppError('MALFORMED_MULTIPART', (error as Error).message) : error;
  }
  return upload;
}

/**
 * Refuses a boundary outside RFC 2046 §5.1.1's 1–70 characters before the parser sees it: busboy
 * throws a plain Error (a 500) for one over 256. Throws MALFORMED_MULTIPART.
 */
export function assertMultipartBoundary(request: FastifyRequest): void {
  const match = /;\s*boundary=(?:"([^"]*)"|([^;\s]*))/i.exec(request.headers['content-type'] ?? '');
  const boundary = match?.[1] ?? match?.[2] ?? '';
  if (boundary.length < 1 || boundary.length > 70) {
    throw new AppError('MALFORMED_MULTIPART', 'Content-Type needs a multipart boundary of 1–70 characters');
  }
}

/** busboy reports a bad body (cut off, no boundary) with plain Errors, without a code or status. */
export function isMalformedMultipart(error: unknown): boolean {
  return error instanceof Error && !('code' in error) && !('statusCode' in error) && /multipart/i.test(error.message);
}

/**
 * An onRequest hook refusing, before a byte of the body is read, a request whose honest
 * Content-Length already exceeds the upload limit; the connection is closed rather than drained.
 */
export function refuseDeclaredOversize(maxBytes: number) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (Number(request.headers['content-length'] ?? 0) > maxBytes + multipartOverheadBytes) {
      reply.header('connection', 'close');
      throw new AppError('IMAGE_TOO_LARGE', `The request is larger than the ${maxBytes}-byte limit`, { limit: maxBytes });
    }
  };
}
