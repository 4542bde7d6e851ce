/**
 * fast-check arbitraries for requests: values from JSON schemas (valid, at the edges, and wrong),
 * nasty strings, auth headers of every kind, and path parameters that are real ids or garbage.
 */
import fc from 'fast-check';
import type { JsonSchema } from './arena.js';
import type { World } from './world.js';

/** Strings that have broken parsers, validators and databases before. */
export const nastyStringList: string[] = [
  '',
  ' ',
  '\t\r\n',
  '\u0000',
  'a\u0000b',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '0',
  '-0',
  '-1',
  '1e309',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x1F',
  '9007199254740993',
  '99999999999999999999999999',
  '1.5',
  '%',
  '%00',
  '%ZZ',
  '%2F',
  '../../../../etc/passwd',
  '..%2F..%2Fetc',
  '/',
  '\\',
  "' OR '1'='1",
  '"; DROP TABLE users; --',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell probe, literally.
  '${jndi:ldap://x}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '\ud800',
  '\udfff\ud800',
  '😀'.repeat(3),
  '\u202e\u202d',
  '\ufeff',
  'ǅ',
  'ß'.repeat(40),
  'x'.repeat(65),
  'x'.repeat(129),
  'x'.repeat(2_300),
  'x'.repeat(70_000),
  'PT1H',
  'P1D',
  'PT0S',
  '-PT1H',
  'P9999999999999Y',
  'PT99999999999999999999S',
  'P1.5D',
  '2030-01-31T18:00:00Z',
  '1970-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '2030-02-30T25:61:61+99:99',
  'queued',
  'parked',
  'Bearer',
];
export const nastyString = fc.constantFrom(...nastyStringList);

/** Any string: short random ones of every Unicode plane, or a nasty one. */
export const anyString = fc.oneof(
  { weight: 2, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

/** Numbers a JSON body can carry, including the ones JavaScript mishandles. */
const anyNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e308, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, shallow or moderately deep. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: anyString },
  { weight: 1, arbitrary: anyNumber },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], { __proto__: null }) },
);

/** Hints for property names whose meaning a schema cannot say: real ids, real cursors, durations. */
export function hintsFor(world: World): Record<string, fc.Arbitrary<unknown>> {
  const ids = fc.constantFrom(...world.allIds());
  return {
    uploadId: fc.oneof(fc.constantFrom(...world.finishedUploadIds, ...world.openUploadIds), ids),
    imageId: fc.oneof(fc.constantFrom(...world.imageIds), ids),
    cursor: fc.constantFrom(...[world.feedCursor, world.commentsCursor].filter((c): c is string => c !== null), 'AAAA', 'eyJ4IjoxfQ', 'e30'),
    before: ids,
    after: fc.oneof(fc.constantFrom(...world.imageIds), fc.nat()),
    sinceNow: fc.constantFrom('PT1H', 'P1D', 'PT0S', 'PT1S', 'P365000D', 'P9999999999999Y', '-PT1H', 'PT1.5H', 'P', 'PT', 'P1W', 'P1Y2M3DT4H5M6.7S'),
    expiresOn: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom(
        '2030-01-31T18:00:00Z',
        '2030-01-31T18:00:00',
        '2030-01-31',
        '+275760-09-13T00:00:00Z',
        '-271821-04-20T00:00:00Z',
        '9999-12-31T23:59:59.999Z',
        'now',
      ),
    ),
    username: fc.oneof(fc.constantFrom(world.alice.username, world.bob.username), fc.stringMatching(/^[a-z][a-z0-9_.-]{2,31}$/)),
    password: fc.oneof(fc.constant(world.alice.password), fc.string({ minLength: 1, maxLength: 300 })),
    caption: fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom('x'.repeat(2200), 'x'.repeat(2201), '😀'.repeat(1100), '😀'.repeat(2201))),
    body: fc.oneof(fc.string({ minLength: 1, maxLength: 50 }), fc.constantFrom('x'.repeat(1000), 'x'.repeat(1001), '😀'.repeat(1000), ' ', '\u200b')),
  };
}

/**
 * A value for `schema`: mostly valid (including the edges of its ranges), sometimes of a wrong
 * type or out of range, so both the validator and the code behind it are reached.
 */
export function valueFor(schema: JsonSchema | undefined, hint?: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const valid = validValueFor(schema ?? {}, hint);
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: anyJson });
}

function validValueFor(schema: JsonSchema, hint?: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  if (hint) return fc.oneof({ weight: 3, arbitrary: hint }, { weight: 1, arbitrary: plainValueFor(schema) });
  return plainValueFor(schema);
}

function plainValueFor(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.anyOf?.length) return fc.oneof(...schema.anyOf.map((s) => plainValueFor(s)));
  if (schema.allOf?.length) return plainValueFor(Object.assign({}, ...schema.allOf) as JsonSchema);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string': {
      const min = schema.minLength ?? 0;
      const max = schema.maxLength ?? 64;
      const edges = [min, Math.max(min, max), max + 1].map((n) => 'x'.repeat(Math.min(n, 100_000)));
      return fc.oneof(fc.string({ minLength: min, maxLength: Math.min(max, 80) }), fc.constantFrom(...edges), nastyString);
    }
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? -(2 ** 31);
      const max = schema.maximum ?? 2 ** 31;
      const edges = [min, max, min - 1, max + 1, 0, -1];
      return fc.oneof(fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }), fc.constantFrom(...edges), anyNumber);
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(plainValueFor(schema.items ?? {}), { maxLength: 5 });
    case 'object':
      return objectFor(schema);
    default:
      return anyJson;
  }
}

/** An object with some of the declared properties (required ones usually there) and maybe extras. */
export function objectFor(schema: JsonSchema, hints: Record<string, fc.Arbitrary<unknown>> = {}): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const entries = Object.entries(properties).map(([name, property]) => {
    const value = valueFor(property, hints[name]);
    // Required properties are there 9 times in 10: missing ones must be refused cleanly too.
    const presence = required.has(name) ? fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }) : fc.boolean();
    return fc.tuple(fc.constant(name), presence, value);
  });
  const extras = fc.array(fc.tuple(fc.oneof(anyString, fc.constantFrom('__proto__', 'constructor', 'prototype')), anyJson), { maxLength: 2 });
  return fc.tuple(fc.tuple(...entries), fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: extras })).map(([chosen, extra]) => {
    const object: Record<string, unknown> = {};
    for (const [name, present, value] of chosen) if (present) object[name] = value;
    // defineProperty: a "__proto__" key must be an own property, as JSON.parse on the server makes it.
    for (const [name, value] of extra) Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
    return object;
  });
}

/** A JSON body for `schema`, or text that is not quite JSON. */
export function jsonBodyFor(schema: JsonSchema | undefined, hints: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string> {
  const structured = schema?.type === 'object' || schema?.properties ? objectFor(schema, hints) : valueFor(schema);
  return fc.oneof(
    { weight: 6, arbitrary: structured.map((value) => JSON.stringify(value) ?? 'null') },
    { weight: 1, arbitrary: anyJson.map((value) => JSON.stringify(value) ?? 'null') },
    { weight: 1, arbitrary: brokenJson },
  );
}

/** Text a JSON parser must refuse (or accept oddly): truncated, deep, duplicated keys, BOMs. */
export const brokenJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '{',
    '{"a":',
    '{"a":1,}',
    "{'a':1}",
    '{"a":1}{"b":2}',
    '\ufeff{}',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '{"caption":"x","caption":{"a":1}}',
    '1e99999',
    '-',
    'nul',
    '"\\ud800"',
    '"\\u0000"',
    '[' + '1,'.repeat(20_000) + '1]',
    '{"a":' + '['.repeat(5_000) + ']'.repeat(5_000) + '}',
    '{"a":' + '{"b":'.repeat(5_000) + '1' + '}'.repeat(5_000) + '}',
    '{"a":' + '['.repeat(60_000) + ']'.repeat(60_000) + '}',
  ),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

export type AuthVariant = 'none' | 'alice' | 'bob' | 'bad-token' | 'malformed' | 'admin-bearer' | 'admin-header';

/** Authorization headers of every kind a client sends: none, valid, someone else's, wrong, admin. */
export function authFor(world: World): fc.Arbitrary<{ variant: AuthVariant; headers: Record<string, string> }> {
  const make = (variant: AuthVariant, headers: fc.Arbitrary<Record<string, string>>) => headers.map((h) => ({ variant, headers: h }));
  return fc.oneof(
    make('none', fc.constant({})),
    make('alice', fc.constant({ authorization: `Bearer ${world.alice.token}` })),
    make('bob', fc.constant({ authorization: `Bearer ${world.bob.token}` })),
    make(
      'bad-token',
      fc.constantFrom<Record<string, string>>(
        { authorization: 'Bearer 0000000000000000000000000000000000000000000' },
        { authorization: `Bearer ${world.alice.token}x` },
        { authorization: `Bearer ${'A'.repeat(8_000)}` },
        { 'x-access-token': 'nope' },
      ),
    ),
    make(
      'malformed',
      fc.constantFrom<Record<string, string>>(
        { authorization: 'Bearer' },
        { authorization: 'Bearer ' },
        { authorization: 'Basic YWxpY2U6cHc=' },
        { authorization: `bearer   ${world.alice.token}   ` },
        { authorization: `Bearer ${world.alice.token} extra` },
        { authorization: `Token ${world.alice.token}` },
        { authorization: '' },
        { 'x-access-token': '' },
      ),
    ),
    make('admin-bearer', fc.constant({ authorization: `Bearer ${world.adminToken}` })),
    make(
      'admin-header',
      fc.constantFrom<Record<string, string>>(
        { 'x-access-token': world.adminToken },
        { 'x-access-token': world.adminToken, authorization: `Bearer ${world.bob.token}` },
      ),
    ),
  );
}

/** Path segments that are not ids: encoded so they reach the router, or raw to test it. */
export const garbageSegment: fc.Arbitrary<string> = fc.oneof(
  anyString.filter((s) => s.length > 0).map((s) => encodeURIComponent(safe(s))),
  fc.constantFrom(
    '%',
    '%ZZ',
    '%C0%AF',
    '%FF%FE',
    '%E2%82',
    '..',
    '.',
    '%2e%2e',
    '%2F',
    'a%00b',
    'a;b',
    'a,b',
    'a*',
    '*',
    '~',
    'x.jpg',
    '.jpg',
    'x.jpg.jpg',
    '%20',
    'A'.repeat(65),
    'A'.repeat(5_000),
  ),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/),
);

/**
 * Fills `{param}`s of a path template: a real id of the right kind (from `idsFor`), a real id of
 * another kind, or garbage.
 */
export function pathFor(template: string, idsFor: Record<string, string[]>, world: World): fc.Arbitrary<string> {
  const names = [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
  if (names.length === 0) return fc.constant(template);
  const valueFor = (name: string) => {
    const own = idsFor[name] ?? [];
    return fc.oneof(
      { weight: own.length > 0 ? 5 : 0, arbitrary: own.length > 0 ? fc.constantFrom(...own) : fc.constant('x') },
      { weight: 1, arbitrary: fc.constantFrom(...world.allIds()) },
      { weight: 2, arbitrary: garbageSegment },
    );
  };
  return fc.tuple(...names.map(valueFor)).map((values) => names.reduce((path, name, i) => path.replace(`{${name}}`, values[i]!), template));
}

/** A query string for the declared parameters (valid-ish values, garbage, duplicates, brackets). */
export function queryFor(parameters: { name: string; schema?: JsonSchema }[], hints: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string> {
  const pair = (name: string, schema?: JsonSchema) =>
    fc.oneof(
      { weight: 4, arbitrary: valueFor(schema, hints[name]).map((v) => [name, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')]) },
      { weight: 1, arbitrary: anyString.map((v) => [`${name}[]`, v]) },
      { weight: 1, arbitrary: anyString.map((v) => [`${name}[a][b]`, v]) },
    );
  const declared = parameters.map((p) => pair(p.name, p.schema));
  const extra = fc.tuple(anyString, anyString);
  const pairs = fc.tuple(
    fc.subarray(declared.length > 0 ? declared : [fc.constant(['x', '1'] as string[])]).chain((chosen) => fc.tuple(...chosen)),
    fc.array(extra, { maxLength: 2 }),
    fc.boolean(),
  );
  return fc.oneof(
    {
      weight: 8,
      arbitrary: pairs.map(([chosen, extras, duplicate]) => {
        const all = [...chosen, ...extras] as [string, string][];
        if (duplicate && all[0]) all.push(all[0]);
        const encoded = all.map(([k, v]) => `${encodeURIComponent(safe(k))}=${encodeURIComponent(safe(v))}`).join('&');
        return encoded ? `?${encoded}` : '';
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '?',
        '?&&&',
        '?=',
        '?limit',
        '?limit=%',
        '?limit=%ZZ',
        '?cursor=%FF',
        `?${'a=1&'.repeat(2_000)}`,
        '?limit=1e2',
        '?limit=0x10',
        '?limit= 5',
        '?limit=5;',
        '#frag',
      ),
    },
  );
}

/** Lone surrogates cannot be percent-encoded; replace them (raw bytes are the framing fuzzer's job). */
export function safe(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
