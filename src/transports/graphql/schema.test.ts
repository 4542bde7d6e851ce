import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './schema.js';

const snapshot = new URL('../../../docs/schema.graphql', import.meta.url);
const header =
  [
    '# The public GraphQL API, printed from src/transports/graphql/schema.ts with types and fields sorted.',
    '# Kept by src/transports/graphql/schema.test.ts; after a deliberate change, regenerate it with',
    '#   UPDATE_SCHEMA_SNAPSHOT=1 node --import tsx --test src/transports/graphql/schema.test.ts',
  ].join('\n') + '\n\n';

// The schema is the contract with every client: a change to it must show up in review as a
// change to docs/schema.graphql, never slip in with a resolver edit.
test('the schema is the one in docs/schema.graphql', async () => {
  const printed = header + printSchema(lexicographicSortSchema(schema)) + '\n';
  if (process.env.UPDATE_SCHEMA_SNAPSHOT === '1') await writeFile(snapshot, printed);
  assert.equal(printed, await readFile(snapshot, 'utf8'), 'the schema changed: review it, then regenerate docs/schema.graphql (see its header)');
});
