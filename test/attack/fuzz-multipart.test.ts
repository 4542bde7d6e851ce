/**
 * multipart/form-data framing, fuzzed on every route that parses it: boundaries, line endings,
 * part headers, missing or extra parts, bodies cut short, images whole, truncated or fake, and
 * the GraphQL multipart request's `operations` and `map` fields.
 */
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Arena, fuzzRuns, fuzzSeed, operationsOf, type Probe } from './support/arena.js';
import { anyString, authFor, brokenJson } from './support/generators.js';
import { encodeMultipart, fieldPart, framingArb, partHeadersArb, type Part } from './support/multipart.js';
import { routeGenerators } from './support/routes.js';

describe('fuzzing multipart framing', () => {
  let arena: Arena;
  before(async () => {
    arena = await Arena.open('fuzz-multipart');
  });
  after(async () => {
    await arena?.close();
  });

  test('no 5xx, no exit, every answer within 10 s', async (t) => {
    const { world } = arena;
    const png = world.png;
    const fileBytes = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(png, png.subarray(0, 60), png.subarray(0, 8), Buffer.alloc(0), Buffer.concat([png, Buffer.from('trailing')])) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
      // Bytes that look like the boundary inside the file.
      { weight: 1, arbitrary: fc.constant(Buffer.from('\r\n--fuzzboundary7MA4YWxk\r\nContent-Disposition: form-data; name="x"\r\n\r\n')) },
    );
    const part = (fileField: string, fields: string[]): fc.Arbitrary<Part> =>
      fc.oneof(
        fc.tuple(partHeadersArb(fc.constantFrom(fileField, fileField, 'other', ''), 'image/png'), fileBytes).map(([headers, body]) => ({ headers, body })),
        fc.tuple(fc.constantFrom(...fields, 'caption', 'x'), anyString).map(([name, value]) => fieldPart(name, value)),
      );

    // Every route the document says consumes multipart/form-data, plus GraphQL's multipart requests.
    const multipartRoutes = operationsOf(arena.openapi).filter(({ key }) => routeGenerators[key]?.bodies.includes('multipart'));
    const restProbes = multipartRoutes.map(({ key, method, path }) => {
      const fields = routeGenerators[key]!.multipartFields ?? { file: 'image', fields: [] };
      return fc
        .record({
          parts: fc.array(part(fields.file, fields.fields), { minLength: 0, maxLength: 6 }),
          framing: framingArb,
          auth: fc.oneof(
            { weight: 5, arbitrary: fc.constant({ variant: 'alice', headers: { authorization: `Bearer ${world.alice.token}` } }) },
            { weight: 1, arbitrary: authFor(world) },
          ),
          link: fc.constantFrom(world.linkToken, world.linkToken, 'not-a-token'),
        })
        .map(({ parts, framing, auth, link }): Probe => {
          const { body, contentType } = encodeMultipart(parts, framing);
          return {
            method,
            path: path.replace('{token}', link),
            headers: { ...auth.headers, 'content-type': contentType },
            body,
            label: `${key} [${auth.variant}]`,
          };
        });
    });

    const operations = fc.oneof(
      fc.constant(JSON.stringify({ query: 'mutation($file: Upload!) { uploadImage(file: $file) { id } }', variables: { file: null } })),
      fc.constant(JSON.stringify([{ query: 'mutation($file: Upload!) { uploadImage(file: $file) { id } }', variables: { file: null } }])),
      fc.constant(JSON.stringify({ query: '{ __typename }' })),
      brokenJson,
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? ''),
    );
    const map = fc.oneof(
      fc.constant('{"0":["variables.file"]}'),
      fc.constantFrom(
        '{"0":["variables.__proto__"]}',
        '{"0":["variables.file.x.y"]}',
        '{"0":["0.variables.file"]}',
        '{"0":"variables.file"}',
        '{"0":[]}',
        '{"0":[1]}',
        '[]',
        '{}',
        '{"__proto__":["variables.file"]}',
        '{"0":["variables.file"],"1":["variables.file"]}',
        `{"0":["${'variables.'.repeat(2_000)}file"]}`,
      ),
      brokenJson,
    );
    const graphqlProbe = fc
      .record({
        operations,
        map,
        order: fc.constantFrom('operations-map-file', 'map-operations-file', 'file-first', 'no-map', 'no-file', 'file-twice'),
        file: fileBytes,
        fileName: fc.constantFrom('0', '1', 'file', ''),
        framing: framingArb,
        csrf: fc.constantFrom<Record<string, string>>({ 'apollo-require-preflight': 'true' }, { 'x-graphql-csrf': '1' }, {}),
        auth: fc.oneof(fc.constant({ authorization: `Bearer ${world.alice.token}` }), fc.constant({})),
      })
      .map(({ operations: ops, map: m, order, file, fileName, framing, csrf, auth }): Probe => {
        const opsPart = fieldPart('operations', ops);
        const mapPart = fieldPart('map', m);
        const filePart: Part = { headers: [`Content-Disposition: form-data; name="${fileName}"; filename="a.png"`, 'Content-Type: image/png'], body: file };
        const parts = {
          'operations-map-file': [opsPart, mapPart, filePart],
          'map-operations-file': [mapPart, opsPart, filePart],
          'file-first': [filePart, opsPart, mapPart],
          'no-map': [opsPart, filePart],
          'no-file': [opsPart, mapPart],
          'file-twice': [opsPart, mapPart, filePart, filePart],
        }[order];
        const { body, contentType } = encodeMultipart(parts, framing);
        return {
          method: 'POST',
          path: '/graphql',
          headers: { ...auth, ...csrf, 'content-type': contentType },
          body,
          label: `POST /graphql multipart [${order}]`,
        };
      });

    const seed = fuzzSeed(20_260_602);
    await arena.run(fc.oneof(...restProbes, graphqlProbe), seed, fuzzRuns(800));
    await arena.verdict(t, seed);
  });
});
