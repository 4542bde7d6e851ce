/**
 * The GraphQL-over-HTTP envelope at /graphql, fuzzed generically (documents are the GraphQL
 * suites' business): `query`, `variables`, `operationName` and `extensions` of every JSON type,
 * batches, content types, GET query strings and persisted-query hashes.
 */
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Arena, fuzzRuns, fuzzSeed, type Probe } from './support/arena.js';
import { anyJson, anyString, brokenJson, safe } from './support/generators.js';
import { graphqlDocuments } from './support/routes.js';

describe('fuzzing the GraphQL envelope', () => {
  let arena: Arena;
  before(async () => {
    arena = await Arena.open('fuzz-graphql-envelope');
  });
  after(async () => {
    await arena?.close();
  });

  test('no 5xx, no exit, every answer within 10 s', async (t) => {
    const { world } = arena;
    const member = <T>(arb: fc.Arbitrary<T>) =>
      fc.oneof({ weight: 3, arbitrary: arb }, { weight: 1, arbitrary: anyJson }, { weight: 1, arbitrary: fc.constant(undefined) });
    const extensions = fc.oneof(
      fc.constant({ persistedQuery: { version: 1, sha256Hash: 'ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38' } }),
      fc.constant({ persistedQuery: { version: 2, sha256Hash: 'x' } }),
      fc.constant({ persistedQuery: null }),
      fc.constant({ persistedQuery: { version: 1, sha256Hash: { $ne: 1 } } }),
    );
    const envelope = fc.record(
      {
        query: member(fc.oneof(fc.constantFrom(...graphqlDocuments), anyString)),
        variables: member(fc.oneof(fc.constant({ id: world.postIds[0] }), fc.dictionary(anyString, anyJson, { maxKeys: 3 }))),
        operationName: member(fc.oneof(fc.constantFrom('Q', 'A', 'B', ''), anyString)),
        extensions: member(extensions),
      },
      { requiredKeys: [] },
    );
    const auth = fc.constantFrom<Record<string, string>>({}, { authorization: `Bearer ${world.alice.token}` }, { authorization: 'Bearer nope' });
    const post = fc
      .record({
        body: fc.oneof(
          { weight: 5, arbitrary: envelope.map((e) => JSON.stringify(e)) },
          { weight: 1, arbitrary: fc.array(envelope, { maxLength: 3 }).map((batch) => JSON.stringify(batch)) },
          { weight: 1, arbitrary: brokenJson },
          { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v) ?? '') },
          // Variables nested far deeper than any schema: a validator that recurses runs out of stack.
          {
            weight: 1,
            arbitrary: fc
              .constantFrom(100, 5_000, 30_000)
              .map((depth) => `{"query":"query Q($v: String) { __typename }","variables":{"v":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`),
          },
        ),
        contentType: fc.constantFrom(
          'application/json',
          'application/json',
          'application/graphql',
          'application/graphql-response+json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/json; charset=utf-16',
        ),
        csrf: fc.constantFrom<Record<string, string>>({}, { 'apollo-require-preflight': 'true' }),
        auth,
      })
      .map(
        ({ body, contentType, csrf, auth: a }): Probe => ({
          method: 'POST',
          path: '/graphql',
          headers: { ...a, ...csrf, 'content-type': contentType },
          body,
          label: `POST /graphql [${contentType}]`,
        }),
      );
    const get = fc.record({ e: envelope, raw: fc.boolean(), auth }).map(({ e, raw, auth: a }): Probe => {
      const params = Object.entries(e)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${encodeURIComponent(safe(raw || typeof v !== 'string' ? (JSON.stringify(v) ?? '') : v))}`);
      return { method: 'GET', path: `/graphql?${params.join('&')}`, headers: a, label: 'GET /graphql' };
    });

    const seed = fuzzSeed(20_260_605);
    await arena.run(fc.oneof(post, get), seed, fuzzRuns(800));
    await arena.verdict(t, seed);
  });
});
