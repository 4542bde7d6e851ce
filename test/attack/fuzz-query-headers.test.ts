/**
 * Query strings and headers on every operation of `/openapi.json`: raw and repeated query
 * parameters, and the headers routes read (Authorization, Range, If-None-Match, Idempotency-Key,
 * Content-Type, X-Request-Id, Origin…) with odd, repeated, long and non-ASCII values.
 */
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Arena, fuzzRuns, fuzzSeed, operationsOf, type OpenApiOperation, type Probe } from './support/arena.js';
import { anyString, authFor, garbageSegment, hintsFor, nastyString, queryFor } from './support/generators.js';
import { routeGenerators, undeclaredOperations } from './support/routes.js';

const rawQueries = [
  'limit=Infinity',
  'limit=-Infinity',
  'limit=NaN',
  'limit=1e3',
  'limit=100.0000000001',
  'limit=0',
  'limit=-1',
  'limit=101',
  'limit=9007199254740993',
  'limit=',
  'limit=true',
  'limit=[]',
  'limit=1&limit=2',
  'limit[]=1',
  'limit[$gt]=1',
  'after=-1',
  'after=1e400',
  'after=18446744073709551616',
  'state=parked&state=queued',
  'state=__proto__',
  'cursor=',
  'cursor=%00',
  'cursor=eyJ9',
  '__proto__[x]=1',
  'constructor[prototype][x]=1',
  'query={__typename}&query={__typename}',
  'variables=%7B',
  'extensions={"persistedQuery":{"version":1,"sha256Hash":"00"}}',
  '%',
  '%%%',
  '&=&=&',
  `${'a'.repeat(8_000)}=1`,
];

const rangeValues = [
  'bytes=0-0',
  'bytes=0-',
  'bytes=-1',
  'bytes=-0',
  'bytes=5-1',
  'bytes=0-99999999999999999999',
  'bytes=99999999999999999999-',
  'bytes=0-1,2-3',
  `bytes=${'0-0,'.repeat(2_000)}0-0`,
  'bytes=',
  'bytes',
  'items=0-1',
  'bytes=a-b',
  'bytes=-',
  'bytes=--1',
];
const etagValues = ['*', '"x"', 'W/"x"', '', ',,,', `${'"a",'.repeat(2_000)}"b"`, 'W/', '"'];
const contentTypes = [
  'application/json',
  'application/json; charset=latin1',
  'text/plain',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'application/x-www-form-urlencoded',
  'application/offset+octet-stream',
  '',
  ';;;',
  'a/b/c',
  `application/${'x'.repeat(5_000)}`,
  'application/json; x="unterminated',
];

describe('fuzzing query strings and headers', () => {
  let arena: Arena;
  before(async () => {
    arena = await Arena.open('fuzz-query-headers');
  });
  after(async () => {
    await arena?.close();
  });

  test('no 5xx, no exit, every answer within 10 s', async (t) => {
    const { world } = arena;
    const hints = hintsFor(world);
    const headerValue = fc.oneof(anyString, nastyString);
    const headers = fc.record(
      {
        range: fc.oneof(fc.constantFrom(...rangeValues), headerValue),
        'if-range': fc.oneof(fc.constantFrom('"x"', 'Wed, 21 Oct 2015 07:28:00 GMT'), headerValue),
        'if-none-match': fc.oneof(fc.constantFrom(...etagValues), headerValue),
        'idempotency-key': fc.oneof(fc.constantFrom('', ' ', 'k'.repeat(300), 'k'.repeat(5_000), '"quoted"', 'a,b'), headerValue),
        'x-request-id': fc.oneof(fc.constantFrom('', 'r'.repeat(5_000)), headerValue),
        accept: fc.constantFrom('*/*', 'application/json', 'text/html', 'application/graphql-response+json', 'image/*', '', 'a/b;q=2', ';;'),
        'accept-encoding': fc.constantFrom('gzip', 'br', 'deflate', 'identity;q=0', '*;q=0', 'x'),
        origin: fc.constantFrom('http://evil.example', 'null', '', 'http://127.0.0.1'),
        'content-type': fc.constantFrom(...contentTypes),
        'tus-resumable': fc.constantFrom('1.0.0', '0.2.2', '', 'x'),
        'upload-length': fc.constantFrom('0', '-1', '1e3', '9007199254740993', ''),
        'upload-metadata': fc.constantFrom('filename d29ybGQ=', 'filename', 'a b c', ',,', 'x %%%'),
        'x-http-method-override': fc.constantFrom('DELETE', 'PATCH', 'GET'),
        'apollo-require-preflight': fc.constant('true'),
      },
      { requiredKeys: [] },
    );
    // Header values that repeat (two lines of one header) are where "string or array" code breaks.
    const repeated = fc.subarray([
      'authorization',
      'x-access-token',
      'content-type',
      'idempotency-key',
      'range',
      'if-none-match',
      'x-request-id',
      'tus-resumable',
      'upload-length',
    ]);

    const operations = [
      ...operationsOf(arena.openapi),
      ...undeclaredOperations.map((key) => ({ key, method: key.split(' ')[0]!, path: key.split(' ')[1]!, operation: {} as OpenApiOperation })),
    ];
    const probes = operations.map(({ key, method, path, operation }) => {
      const ids = routeGenerators[key]?.ids?.(world) ?? {};
      const filled = fc
        .tuple(
          ...[...path.matchAll(/\{(\w+)\}/g)].map((m) =>
            fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...(ids[m[1]!] ?? ['x'])) }, { weight: 1, arbitrary: garbageSegment }),
          ),
        )
        .map((values) => values.reduce<string>((p, v) => p.replace(/\{\w+\}/, v), path));
      const query = fc.oneof(
        {
          weight: 2,
          arbitrary: queryFor(
            (operation.parameters ?? []).filter((p) => p.in === 'query'),
            hints,
          ),
        },
        { weight: 1, arbitrary: fc.constantFrom(...rawQueries).map((q) => `?${q}`) },
      );
      return fc.record({ auth: authFor(world), path: filled, query, headers, repeated }).map(({ auth, path: p, query: q, headers: h, repeated: r }): Probe => {
        const all: Record<string, string | string[]> = { ...h, ...auth.headers };
        for (const name of r) {
          const first = all[name] ?? `Bearer ${world.alice.token}`;
          all[name] = [String(first), name === 'authorization' ? `Bearer ${world.bob.token}` : 'second'];
        }
        const body = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? undefined : '{}';
        return { method, path: `${p}${q}`, headers: all, body, label: `${key} [${auth.variant}]` };
      });
    });

    const seed = fuzzSeed(20_260_603);
    await arena.run(fc.oneof(...probes), seed, fuzzRuns(1_000));
    await arena.verdict(t, seed);
  });
});
