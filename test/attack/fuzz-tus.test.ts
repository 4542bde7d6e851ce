/**
 * The tus 1.0 protocol at /uploads, fuzzed at its headers and bodies: Upload-Length, -Offset,
 * -Metadata, -Defer-Length, Tus-Resumable, content types, creation-with-upload bodies, ids with
 * query strings and odd characters, against open, finished, foreign and unknown uploads.
 */
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Arena, fuzzRuns, fuzzSeed, type Probe } from './support/arena.js';
import { anyString, authFor, garbageSegment } from './support/generators.js';

describe('fuzzing the tus protocol', () => {
  let arena: Arena;
  before(async () => {
    arena = await Arena.open('fuzz-tus');
  });
  after(async () => {
    await arena?.close();
  });

  test('no 5xx, no exit, every answer within 10 s', async (t) => {
    const { world } = arena;
    const numberish = fc.oneof(
      fc.nat({ max: 6_000 }).map(String),
      fc.constantFrom('0', '-1', '1.0', '1e3', ' 5', '5 ', '0x10', '', '18446744073709551616', '104857600', '104857601', 'NaN'),
    );
    const tusHeaders = fc.record(
      {
        'tus-resumable': fc.constantFrom('1.0.0', '1.0.0', '1.0.0', '0.2.2', '', '1.0.0, 1.0.0'),
        'upload-length': numberish,
        'upload-offset': numberish,
        'upload-defer-length': fc.constantFrom('1', '0', 'x'),
        'upload-metadata': fc.oneof(
          fc.constantFrom(
            'filename cGhvdG8ucG5n,filetype aW1hZ2UvcG5n',
            'filename',
            'filename !!!',
            'a b c',
            ',',
            ' ',
            'k '.repeat(500),
            `filename ${'A'.repeat(10_000)}`,
            '__proto__ eA==',
            'filename cGhvdG8ucG5n,filename cGhvdG8ucG5n',
          ),
          anyString,
        ),
        'upload-concat': fc.constantFrom('partial', 'final;/uploads/a /uploads/b', 'final;'),
        'upload-checksum': fc.constantFrom('sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=', 'md5 x', 'nope'),
        'content-type': fc.constantFrom('application/offset+octet-stream', 'application/offset+octet-stream', 'application/octet-stream', 'text/plain', ''),
        'x-http-method-override': fc.constantFrom('PATCH', 'DELETE', 'HEAD', 'POST', 'GET'),
      },
      { requiredKeys: ['tus-resumable'] },
    );
    const body = fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
      { weight: 1, arbitrary: fc.constant(world.png) },
    );
    const id = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...world.openUploadIds, ...world.finishedUploadIds) },
      { weight: 1, arbitrary: fc.constantFrom(...world.imageIds, world.linkId) },
      { weight: 2, arbitrary: garbageSegment },
      // @tus/server reads the id from the end of the whole URL, query string included.
      { weight: 1, arbitrary: fc.constantFrom(...world.openUploadIds).map((own) => `${own}?x=/uploads/${world.finishedUploadIds[0]}`) },
      { weight: 1, arbitrary: fc.constantFrom(...world.openUploadIds).map((own) => `${own}/..%2F${world.finishedUploadIds[0]}`) },
    );
    const auth = fc.oneof(
      { weight: 4, arbitrary: fc.constant({ variant: 'alice', headers: { authorization: `Bearer ${world.alice.token}` } }) },
      { weight: 2, arbitrary: authFor(world) },
    );
    const probe = fc
      .record({
        method: fc.constantFrom('POST', 'POST', 'PATCH', 'PATCH', 'PATCH', 'HEAD', 'HEAD', 'DELETE', 'OPTIONS', 'GET', 'PUT'),
        onCollection: fc.boolean(),
        id,
        headers: tusHeaders,
        body,
        auth,
      })
      .map(({ method, onCollection, id: uploadId, headers, body: bytes, auth: who }): Probe => {
        // POST goes to the collection (and sometimes to an upload); the rest to an upload (and sometimes to the collection).
        const toCollection = method === 'POST' ? !onCollection || uploadId.length % 5 !== 0 : onCollection && uploadId.length % 7 === 0;
        const path = toCollection ? '/uploads' : `/uploads/${uploadId}`;
        const sent = method === 'GET' || method === 'HEAD' ? undefined : bytes;
        return {
          method,
          path,
          headers: { ...headers, ...who.headers },
          body: sent,
          label: `${method} ${toCollection ? '/uploads' : '/uploads/{id}'} [${who.variant}]`,
        };
      });

    const seed = fuzzSeed(20_260_604);
    await arena.run(probe, seed, fuzzRuns(800));
    await arena.verdict(t, seed);
  });
});
