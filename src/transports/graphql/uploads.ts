import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type FileUpload, Upload } from 'graphql-upload-minimal';
import { mercuriusUpload } from 'mercurius-upload';
import { refuseDeclaredOversize } from '../rest/multipart-upload.js';

export type { FileUpload };

/**
 * GraphQL multipart requests (https://github.com/jaydenseric/graphql-multipart-request-spec) in
 * `scope`: `operations`, then `map`, then one file, streamed to the resolver as it arrives
 * (graphql-upload-minimal never buffers or spools it). The CSRF check (a preflight-forcing header)
 * runs earlier, in Mercurius's onRequest, before any of the body is read.
 */
export async function acceptMultipartOperations(scope: FastifyInstance, maxUploadBytes: number): Promise<void> {
  // The app-wide @fastify/multipart parser hands bodies to request.parts() for REST; GraphQL's
  // multipart requests are parsed by graphql-upload-minimal instead, in this scope only.
  scope.removeContentTypeParser('multipart/form-data');
  // Registered before mercurius-upload, whose own onSend waits for the whole request body: a file
  // no resolver read (the caller was not signed in, the query failed to validate) is drained here
  // first, or that wait would never end.
  scope.addHook('onSend', async (request, _reply, payload) => {
    await drainUnreadFiles(request);
    return payload;
  });
  scope.addHook('onRequest', refuseDeclaredOversize(maxUploadBytes));
  await scope.register(mercuriusUpload, {
    // One byte over the limit lets staging see, and report, the overflow (IMAGE_TOO_LARGE).
    maxFileSize: maxUploadBytes + 1,
    maxFiles: 1,
    maxFieldSize: 256 * 1024,
  });
}

async function drainUnreadFiles(request: FastifyRequest): Promise<void> {
  const variables = (request.body as { variables?: unknown } | undefined)?.variables;
  for (const upload of uploadsIn(variables)) {
    try {
      const file = await upload.promise;
      file.createReadStream().resume();
    } catch {
      // Already read by a resolver (createReadStream works once), or it never arrived.
    }
  }
}

function* uploadsIn(value: unknown): Generator<Upload> {
  if (value instanceof Upload) yield value;
  else if (Array.isArray(value)) for (const item of value) yield* uploadsIn(item);
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) yield* uploadsIn(item);
}
