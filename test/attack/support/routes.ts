/**
 * The fuzzers' route table: for every operation of `/openapi.json`, where its path parameters'
 * real ids come from and which kinds of body it takes. A route missing here fails the guard test,
 * so a new route is fuzzed as soon as someone says what its ids are.
 */
import fc from 'fast-check';
import type { JsonSchema, OpenApiOperation, Probe } from './arena.js';
import { anyString, authFor, hintsFor, jsonBodyFor, pathFor, queryFor } from './generators.js';
import { encodeMultipart, fieldPart, filePart, wellFormed, type Part } from './multipart.js';
import type { World } from './world.js';

export type BodyKind = 'none' | 'json' | 'multipart' | 'tus' | 'graphql';

export interface RouteGenerator {
  /** Real ids for each path parameter, by name. */
  ids?: (world: World) => Record<string, string[]>;
  bodies: BodyKind[];
  /** The JSON body's schema when the document cannot declare it (routes also taking multipart). */
  jsonSchema?: JsonSchema;
  /** Multipart field names the route reads. */
  multipartFields?: { file: string; fields: string[] };
}

const str = (extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'string', ...extra });

export const routeGenerators: Record<string, RouteGenerator> = {
  'GET /healthz': { bodies: ['none'] },
  'GET /readyz': { bodies: ['none'] },
  'GET /metrics': { bodies: ['none'] },
  'POST /users': { bodies: ['json'] },
  'POST /sessions': { bodies: ['json'] },
  'DELETE /sessions/current': { bodies: ['none'] },
  'POST /images': {
    bodies: ['multipart', 'json'],
    jsonSchema: { type: 'object', properties: { uploadId: str({ minLength: 1, maxLength: 128 }) }, required: ['uploadId'] },
    multipartFields: { file: 'image', fields: [] },
  },
  'GET /me': { bodies: ['none'] },
  'GET /me/images': { bodies: ['none'] },
  'GET /me/posts': { bodies: ['none'] },
  'GET /users/{username}/posts': { ids: (w) => ({ username: [w.alice.username, w.bob.username] }), bodies: ['none'] },
  'PUT /me/password': { bodies: ['json'] },
  // Not 'json': the `password` hint is the shared world's real password, and a fuzzed run that
  // deleted alice or bob would leave every later probe a 401. The e2e suites cover its bodies.
  'DELETE /me': { bodies: ['none'] },
  'PATCH /posts/{id}': { ids: (w) => ({ id: w.postIds }), bodies: ['json'] },
  'GET /images/{id}': { ids: (w) => ({ id: w.imageIds }), bodies: ['none'] },
  'PATCH /images/{id}': { ids: (w) => ({ id: w.imageIds }), bodies: ['json'] },
  'DELETE /images/{id}': { ids: (w) => ({ id: w.imageIds }), bodies: ['none'] },
  'GET /images/{id}.jpg': { ids: (w) => ({ id: w.imageIds }), bodies: ['none'] },
  'GET /posts': { bodies: ['none'] },
  'POST /posts': {
    bodies: ['multipart', 'json'],
    jsonSchema: {
      type: 'object',
      properties: { caption: str({ maxLength: 10_000 }), imageId: str({ minLength: 1, maxLength: 64 }), uploadId: str({ minLength: 1, maxLength: 128 }) },
      required: ['caption'],
    },
    multipartFields: { file: 'image', fields: ['caption'] },
  },
  'GET /posts/{id}': { ids: (w) => ({ id: w.postIds }), bodies: ['none'] },
  'DELETE /posts/{id}': { ids: (w) => ({ id: w.postIds }), bodies: ['none'] },
  'POST /posts/{id}/comments': { ids: (w) => ({ id: w.postIds }), bodies: ['json'] },
  'GET /posts/{id}/comments': { ids: (w) => ({ id: w.postIds }), bodies: ['none'] },
  'DELETE /posts/{id}/comments/{commentId}': { ids: (w) => ({ id: w.postIds, commentId: w.commentIds }), bodies: ['none'] },
  'OPTIONS /uploads': { bodies: ['none'] },
  'POST /uploads': { bodies: ['tus'] },
  'OPTIONS /uploads/{id}': { ids: (w) => ({ id: [...w.openUploadIds, ...w.finishedUploadIds] }), bodies: ['none'] },
  'HEAD /uploads/{id}': { ids: (w) => ({ id: [...w.openUploadIds, ...w.finishedUploadIds] }), bodies: ['none'] },
  'PATCH /uploads/{id}': { ids: (w) => ({ id: w.openUploadIds }), bodies: ['tus'] },
  'DELETE /uploads/{id}': { ids: (w) => ({ id: [...w.openUploadIds, ...w.finishedUploadIds] }), bodies: ['none'] },
  'POST /admin/upload-links': { bodies: ['json'] },
  'GET /admin/upload-links/{id}': { ids: (w) => ({ id: [w.linkId] }), bodies: ['none'] },
  'GET /admin/upload-links/{id}/images': { ids: (w) => ({ id: [w.linkId] }), bodies: ['none'] },
  'POST /links/{token}': { ids: (w) => ({ token: [w.linkToken] }), bodies: ['multipart'], multipartFields: { file: 'image', fields: [] } },
  'GET /admin/events': { bodies: ['none'] },
  'GET /admin/jobs': { bodies: ['none'] },
  'GET /admin/jobs/{id}': { ids: (w) => ({ id: w.jobIds }), bodies: ['none'] },
  'POST /admin/jobs/{id}/retry': { ids: (w) => ({ id: w.jobIds }), bodies: ['none'] },
  'GET /admin/stats': { bodies: ['none'] },
  'GET /graphql': { bodies: ['none'] },
  'POST /graphql': { bodies: ['graphql'] },
  'GET /graphiql': { bodies: ['none'] },
  'GET /graphiql/assets/{file}': { ids: () => ({ file: graphiqlAssetNames }), bodies: ['none'] },
};

/** The files GraphiQL's page loads (the big ones too: Range and If-None-Match apply to them). */
export const graphiqlAssetNames = ['boot.js', 'page.css', 'graphiql.min.js', 'graphiql.min.css', 'react.production.min.js', 'react-dom.production.min.js'];

/** Methods the document leaves out but the server answers (Fastify adds HEAD for every GET). */
export const undeclaredOperations = ['HEAD /uploads/{id}'];

/** GraphQL envelopes: small valid documents and the generic shapes around them. */
export const graphqlDocuments = [
  '{ __typename }',
  'query { me { id } }',
  'query Q($id: ID!) { post(id: $id) { id caption } }',
  'mutation { createCollection(name: "fz") { id } }',
  '{',
  '',
  'subscription { x }',
  'query A { __typename } query B { __typename }',
];

/** Everything a request to `key` can be, from its route-table entry and its OpenAPI operation. */
export function probeFor(key: string, path: string, method: string, operation: OpenApiOperation, world: World, images: Buffer[]): fc.Arbitrary<Probe> {
  const generator = routeGenerators[key];
  if (!generator) throw new Error(`no generator for ${key}: add it to routeGenerators`);
  const hints = hintsFor(world);
  const parameters = operation.parameters ?? [];
  const query = queryFor(
    parameters.filter((p) => p.in === 'query'),
    hints,
  );
  const declaredHeaders = parameters.filter((p) => p.in === 'header').map((p) => p.name);
  const headerValues = fc.array(fc.tuple(fc.constantFrom(...declaredHeaders, 'x-request-id', 'accept', 'if-none-match', 'range'), anyString), {
    maxLength: declaredHeaders.length + 1,
  });
  const jsonSchema = generator.jsonSchema ?? operation.requestBody?.content['application/json']?.schema;
  const bodies = generator.bodies.map((kind) => bodyFor(kind, jsonSchema, hints, generator, images));
  // Any route may get a body it does not expect, under any declared type.
  bodies.push(unexpectedBody);
  return fc
    .record({
      auth: authFor(world),
      path: pathFor(path, generator.ids?.(world) ?? {}, world),
      query,
      headers: headerValues,
      body: fc.oneof({ weight: 6, arbitrary: fc.oneof(...bodies.slice(0, -1)) }, { weight: 1, arbitrary: unexpectedBody }),
    })
    .map(({ auth, path: filled, query: q, headers, body }) => {
      const all: Record<string, string> = { ...auth.headers, ...Object.fromEntries(headers.map(([k, v]) => [k, v])) };
      if (body.contentType !== null) all['content-type'] = body.contentType;
      Object.assign(all, body.headers);
      return {
        method,
        path: `${filled}${q}`,
        headers: all,
        body: method === 'GET' || method === 'HEAD' ? undefined : body.body,
        label: `${key} [${auth.variant}, ${body.kind}]`,
      };
    });
}

interface Body {
  kind: string;
  contentType: string | null;
  body: string | Buffer | undefined;
  headers: Record<string, string>;
}

const noBody: Body = { kind: 'no body', contentType: null, body: undefined, headers: {} };

const unexpectedBody: fc.Arbitrary<Body> = fc
  .record({
    contentType: fc.constantFrom<string | null>(
      null,
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      'application/json; charset=utf-16',
      'application/json; charset=nope',
      'multipart/form-data',
      'multipart/mixed; boundary=x',
      'image/png',
      '*/*',
      ';',
      'application/merge-patch+json',
    ),
    body: fc.oneof(
      fc.constant(undefined),
      fc.constant(''),
      anyString,
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    ),
  })
  .map(({ contentType, body }) => ({ kind: `unexpected ${contentType ?? 'untyped'} body`, contentType, body, headers: {} }));

function bodyFor(
  kind: BodyKind,
  schema: JsonSchema | undefined,
  hints: Record<string, fc.Arbitrary<unknown>>,
  generator: RouteGenerator,
  images: Buffer[],
): fc.Arbitrary<Body> {
  switch (kind) {
    case 'none':
      return fc.constant(noBody);
    case 'json':
      return jsonBodyFor(schema, hints).map((text) => ({ kind: 'json', contentType: 'application/json', body: text, headers: {} }));
    case 'multipart': {
      const fields = generator.multipartFields ?? { file: 'image', fields: [] };
      const file = fc
        .tuple(fc.constantFrom(fields.file, 'file', 'images'), fc.constantFrom(...images), fc.constantFrom('image/png', 'image/jpeg', 'text/plain', ''))
        .map(([name, bytes, type]) => filePart(name, 'photo.png', type, bytes));
      const field = fc
        .tuple(fc.constantFrom(...fields.fields, 'caption', 'other'), fc.oneof(fc.string({ maxLength: 40 }), hints.caption!.map(String)))
        .map(([name, value]) => fieldPart(name, value));
      return fc.array(fc.oneof(file, field), { minLength: 0, maxLength: 4 }).map((parts: Part[]) => {
        const { body, contentType } = encodeMultipart(parts, wellFormed());
        return { kind: 'multipart', contentType, body, headers: {} };
      });
    }
    case 'tus':
      return fc
        .record({
          length: fc.oneof(fc.constantFrom('0', '1', '100', '104857600', '104857601', '-1', '1.5', 'abc', '', '99999999999999999'), fc.nat().map(String)),
          offset: fc.oneof(fc.constantFrom('0', '1', '-1', 'x', ''), fc.nat({ max: 6000 }).map(String)),
          bytes: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          type: fc.constantFrom('application/offset+octet-stream', 'application/octet-stream', 'text/plain'),
          resumable: fc.constantFrom('1.0.0', '0.2.2', '', 'x'),
        })
        .map(({ length, offset, bytes, type, resumable }) => ({
          kind: 'tus',
          contentType: type,
          body: bytes,
          headers: { 'upload-length': length, 'upload-offset': offset, 'tus-resumable': resumable },
        }));
    case 'graphql':
      return fc
        .record({
          query: fc.oneof(fc.constantFrom(...graphqlDocuments), anyString),
          variables: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 })),
          operationName: fc.oneof(fc.constant(undefined), anyString),
        })
        .map((envelope) => ({ kind: 'graphql', contentType: 'application/json', body: JSON.stringify(envelope), headers: {} }));
  }
}
