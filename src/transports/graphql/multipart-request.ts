import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Busboy, type BusboyFileStream, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import { GraphqlRequestError } from './request-errors.js';

const specUrl = 'https://github.com/jaydenseric/graphql-multipart-request-spec';

/** A file part, as the `Upload` scalar hands it to a resolver. */
export interface FileUpload {
  fieldName: string;
  filename: string;
  mimetype: string;
  encoding: string;
  /** The part's bytes as they arrive; can be called once. */
  createReadStream(): Readable;
}

/** A file `map` promises; its promise settles when the part starts (or the body fails without it). */
export class PendingUpload {
  readonly promise: Promise<FileUpload>;
  stream: BusboyFileStream | null = null;
  taken = false;
  settle!: { resolve(file: FileUpload): void; reject(error: Error): void };

  constructor() {
    this.promise = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // Rejected for nobody when the operation never got to the file (e.g. it failed validation).
    this.promise.catch(() => {});
  }
}

export interface MultipartLimits {
  /** Bytes of one file part; a longer one is cut off there (its reader sees `truncated`). */
  maxFileBytes: number;
  /** Bytes of `operations` and of `map`. */
  maxFieldBytes: number;
}

/** A GraphQL multipart request being read: its operation, then its file as the resolver streams it. */
export interface MultipartRequest {
  /** The `operations` object with each mapped variable set to its PendingUpload. */
  operations: Promise<Record<string, unknown>>;
  /** Settles (never rejects) once nothing more is read: the body ended, failed, or was abandoned. */
  done: Promise<void>;
  /** Discards files no resolver read, now or when they arrive, so the body can be read to its end. */
  drainUnread(): void;
}

/**
 * Reads `body` as a GraphQL multipart request (`operations`, then `map`, then the files). Every
 * parser and stream error is handled here: before the operation is handed over it rejects
 * `operations`, afterwards it fails the file's stream or promise (MALFORMED_MULTIPART). Files are
 * never buffered: a part reaches its resolver as it arrives, with busboy's backpressure.
 */
export function readMultipartRequest(body: Readable, headers: IncomingHttpHeaders, limits: MultipartLimits): MultipartRequest {
  const uploads = new Map<string, PendingUpload>();
  let handOver!: { resolve(operations: Record<string, unknown>): void; reject(error: Error): void };
  const operationsPromise = new Promise<Record<string, unknown>>((resolve, reject) => (handOver = { resolve, reject }));
  operationsPromise.catch(() => {});
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let operations: Record<string, unknown> | null = null;
  let mapped = false;
  let handedOver = false;
  let ended = false;
  let draining = false;
  let piped: BusboyInstance | null = null;

  /** Stops parsing and discards the rest of the body, so the connection can serve the next request. */
  const stop = () => {
    if (ended) return;
    ended = true;
    if (piped) body.unpipe(piped);
    // Unpiping pauses the body; resume it on the next turn to drain what is still coming.
    setImmediate(() => body.resume());
    finish();
  };
  const fail = (error: GraphqlRequestError) => {
    if (ended) return;
    if (!handedOver) handOver.reject(error);
    for (const upload of uploads.values()) {
      if (!upload.stream) upload.settle.reject(error);
      else if (!upload.stream.readableEnded) upload.stream.destroy(error);
    }
    stop();
  };
  const malformed = (message: string) => fail(new GraphqlRequestError('MALFORMED_MULTIPART', message));

  const parser = createParser(headers, limits);
  if (parser instanceof Error) {
    // No boundary, or not multipart at all: nothing to read.
    malformed(`Not a multipart body: ${parser.message}`);
    return { operations: operationsPromise, done, drainUnread: () => {} };
  }

  parser.on('field', (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
    if (ended) return;
    if (valueTruncated) return fail(new GraphqlRequestError('BODY_TOO_LARGE', `The '${name}' field is longer than ${limits.maxFieldBytes} bytes`));
    if (name === 'operations' && operations === null) {
      const parsed = parseJson(value);
      if (!isPlainObject(parsed)) return malformed(`'operations' must be a JSON object (one operation; batching is not supported), see ${specUrl}`);
      operations = parsed;
    } else if (name === 'map' && operations !== null && !mapped) {
      const error = bindFiles(operations, parseJson(value), uploads);
      if (error) return fail(error);
      mapped = true;
      // With files to come, the operation runs while they stream; without, the body is read to
      // its end first, so a body cut off after `map` is refused before anything executes.
      if (uploads.size > 0) {
        handedOver = true;
        handOver.resolve(operations);
      }
    } else {
      malformed(`Expected the fields 'operations' then 'map' before any file, got '${name}', see ${specUrl}`);
    }
  });

  parser.on('file', (name: string, stream: BusboyFileStream, filename: string, encoding: string, mimetype: string) => {
    // Errors reach the reader through its pipeline; this listener only keeps an unread one from crashing.
    stream.on('error', () => {});
    const upload = uploads.get(name);
    if (ended || !mapped || !upload || upload.stream) {
      stream.resume();
      if (!ended && !mapped) malformed(`A file part came before 'operations' and 'map', see ${specUrl}`);
      return;
    }
    upload.stream = stream;
    // A reader that gives up mid-part (its staging failed) never reads again, which would stall
    // busboy and with it the request: stop parsing and discard the rest instead.
    stream.once('close', () => {
      if (!stream.readableEnded) stop();
    });
    if (draining) stream.resume();
    upload.settle.resolve({
      fieldName: name,
      filename,
      mimetype,
      encoding,
      createReadStream() {
        if (upload.taken) throw new GraphqlRequestError('BAD_REQUEST', `The file '${name}' is used twice in the operation`);
        upload.taken = true;
        return stream;
      },
    });
  });

  parser.on('error', (error: unknown) => malformed(`Malformed multipart body: ${(error as Error).message}`));
  parser.on('partsLimit', () => malformed('Too many parts: a GraphQL multipart request has operations, map and one file'));
  parser.on('filesLimit', () => fail(new GraphqlRequestError('TOO_MANY_FILES', 'At most one file per request')));
  parser.on('finish', () => {
    if (ended) return;
    if (!operations || !mapped) return malformed(`The body ended before the fields 'operations' and 'map', see ${specUrl}`);
    for (const [name, upload] of uploads) {
      if (!upload.stream) upload.settle.reject(new GraphqlRequestError('MALFORMED_MULTIPART', `The file part '${name}' named in 'map' is missing`));
    }
    if (!handedOver) {
      handedOver = true;
      handOver.resolve(operations);
    }
    ended = true;
    finish();
  });
  body.on('error', () => malformed('The request body failed while it was read'));
  body.on('close', () => {
    if (!body.readableEnded) malformed('The client stopped sending the request body');
  });
  piped = body.pipe(parser);

  return {
    operations: operationsPromise,
    done,
    drainUnread() {
      draining = true;
      for (const upload of uploads.values()) if (upload.stream && !upload.taken) upload.stream.resume();
    },
  };
}

function createParser(headers: IncomingHttpHeaders, limits: MultipartLimits): BusboyInstance | Error {
  try {
    return new Busboy({
      headers: headers as BusboyHeaders,
      // One operation, its map and one file; part headers are a few short lines.
      limits: { fileSize: limits.maxFileBytes, fieldSize: limits.maxFieldBytes, fields: 4, parts: 8, headerPairs: 16, headerSize: 16 * 1024 },
    });
  } catch (error) {
    return error as Error;
  }
}

/** Sets every variable path `map` names to its file's PendingUpload; returns the refusal, if any. */
function bindFiles(operations: Record<string, unknown>, map: unknown, uploads: Map<string, PendingUpload>): GraphqlRequestError | null {
  if (!isPlainObject(map)) return new GraphqlRequestError('MALFORMED_MULTIPART', `'map' must be a JSON object of file field → variable paths, see ${specUrl}`);
  const entries = Object.entries(map);
  if (entries.length > 1) return new GraphqlRequestError('TOO_MANY_FILES', 'At most one file per request');
  for (const [field, paths] of entries) {
    if (!Array.isArray(paths) || paths.length === 0) return new GraphqlRequestError('MALFORMED_MULTIPART', `'map.${field}' must be a non-empty array of paths`);
    const upload = new PendingUpload();
    uploads.set(field, upload);
    for (const path of paths) {
      if (typeof path !== 'string' || !setPlaceholder(operations, path, upload)) {
        return new GraphqlRequestError(
          'MALFORMED_MULTIPART',
          `'map.${field}' names ${JSON.stringify(path)}, which is not a null variable of the operation (e.g. "variables.file")`,
        );
      }
    }
  }
  return null;
}

/**
 * Replaces the `null` at `path` (`variables.file`, `variables.files.0`) with `upload`. Only
 * existing own properties of `variables` are followed, so a path cannot reach a prototype.
 */
function setPlaceholder(operations: Record<string, unknown>, path: string, upload: PendingUpload): boolean {
  const [root, ...keys] = path.split('.');
  const last = keys.pop();
  if (root !== 'variables' || last === undefined) return false;
  let container: unknown = operations.variables;
  for (const key of keys) {
    if (!isContainer(container) || !Object.hasOwn(container, key) || key === '__proto__') return false;
    container = (container as Record<string, unknown>)[key];
  }
  // JSON.parse makes `__proto__` an own key, but assigning to it would swap the prototype.
  if (last === '__proto__' || !isContainer(container) || !Object.hasOwn(container, last) || (container as Record<string, unknown>)[last] !== null) return false;
  (container as Record<string, unknown>)[last] = upload;
  return true;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
