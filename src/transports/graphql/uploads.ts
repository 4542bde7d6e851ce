import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GraphQLError, GraphQLScalarType } from 'graphql';
import { refuseDeclaredOversize } from '../rest/multipart-upload.js';
import { type FileUpload, type MultipartRequest, PendingUpload, readMultipartRequest } from './multipart-request.js';

export type { FileUpload };

/** `operations` and `map` are small JSON; a file's bytes are streamed, never held. */
const maxFieldBytes = 256 * 1024;

/** The `Upload` scalar: a file part of a multipart request, as a promise of its FileUpload. */
export const uploadScalar = new GraphQLScalarType<Promise<FileUpload>, never>({
  name: 'Upload',
  description: 'A file sent by the GraphQL multipart request spec (https://github.com/jaydenseric/graphql-multipart-request-spec).',
  parseValue(value) {
    if (value instanceof PendingUpload) return value.promise;
    throw new GraphQLError('An Upload is sent as a file part of a multipart request (GraphQL multipart request spec), not as a value');
  },
  parseLiteral() {
    throw new GraphQLError('An Upload cannot be written in the query; send it as a multipart file part');
  },
  serialize() {
    throw new GraphQLError('Upload is an input-only type');
  },
});

/**
 * GraphQL multipart requests (https://github.com/jaydenseric/graphql-multipart-request-spec) in
 * `scope`: `operations`, then `map`, then one file, streamed to the resolver as it arrives. The
 * CSRF check (a preflight-forcing header) runs earlier, in Mercurius's onRequest, before any of
 * the body is read. We parse with busboy ourselves: graphql-upload-minimal listened for only the
 * first parser error, so a second one (a bad part header) was emitted unhandled and ended the process.
 */
export function acceptMultipartOperations(scope: FastifyInstance, maxUploadBytes: number): void {
  const inFlight = new WeakMap<FastifyRequest, MultipartRequest>();
  // The app-wide @fastify/multipart parser hands bodies to request.parts() for REST; here the
  // operation must be known before the file is read, so this scope parses its own.
  scope.removeContentTypeParser('multipart/form-data');
  scope.addContentTypeParser('multipart/form-data', async (request: FastifyRequest, payload: Readable) => {
    // One byte over the limit lets staging see, and report, the overflow (IMAGE_TOO_LARGE).
    const multipart = readMultipartRequest(payload, request.headers, { maxFileBytes: maxUploadBytes + 1, maxFieldBytes });
    inFlight.set(request, multipart);
    return multipart.operations;
  });
  scope.addHook('onRequest', refuseDeclaredOversize(maxUploadBytes));
  // The answer goes out once the body is read (or abandoned): a file no resolver read (the caller
  // was not signed in, the query failed to validate) is discarded first, or that wait would never end.
  // A callback, not an async hook: most answers (every GET) have no upload to wait for.
  scope.addHook('onSend', (request, _reply, payload, done) => {
    const multipart = inFlight.get(request);
    if (!multipart) return done(null, payload);
    multipart.drainUnread();
    multipart.done.then(() => done(null, payload), done);
  });
}
