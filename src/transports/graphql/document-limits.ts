import { type DocumentNode, GraphQLError, Kind, parse, visit } from 'graphql';
import { LRUCache } from 'lru-cache';
import { selectedOperation } from './limits.js';

/**
 * Size limits on a GraphQL document, checked on its text and syntax tree before it is validated
 * (validation, like any walk of a document, costs time in its size). Generous for real clients:
 * GraphiQL's introspection query is ~2,000 characters, ~180 tokens and ~70 fields; our deepest
 * allowed query is a few dozen fields.
 */
export const documentLimits = {
  /** Characters of the query text (POST bodies stop at 256 KiB anyway, GET URLs at 16 KiB). */
  maxLength: 32 * 1024,
  /** Lexical tokens; parsing stops at the first one over. */
  maxTokens: 5_000,
  /** Field selections as written, aliases included (fragments counted once, where defined). */
  maxFields: 500,
  maxFragments: 100,
  maxFragmentSpreads: 250,
} as const;

// Documents that passed, by their text: a client repeats the same few queries, and a repeat then
// costs a lookup. Bounded by the total length of the texts it holds.
const checked = new LRUCache<string, DocumentNode>({ max: 1024, maxSize: 4 * 1024 * 1024, sizeCalculation: (_value, source) => Math.max(source.length, 1) });

/**
 * The parsed document (shared with later checks). Throws QUERY_TOO_LARGE past a limit, GRAPHQL_PARSE_FAILED for text that is not GraphQL, and
 * BAD_REQUEST when `operationName` does not pick exactly one operation of the document. All are
 * GraphQL request errors of a well-formed HTTP request (GraphQL over HTTP: a document that cannot
 * be parsed, validated or have its operation determined), so they are GraphQLErrors, not
 * GraphqlRequestErrors: their status depends on the negotiated media type.
 */
export function assertDocumentWithinLimits(source: string, operationName: string | null | undefined): DocumentNode {
  let document = checked.get(source);
  if (!document) {
    document = parseWithinLimits(source);
    checked.set(source, document);
  }
  if (!selectedOperation(document, operationName)) {
    const message =
      operationName === undefined || operationName === null
        ? 'The document defines several operations (or none): name the one to run in operationName'
        : `The document defines no operation named ${JSON.stringify(operationName)}`;
    throw new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', errorCode: 'BAD_REQUEST' } });
  }
  return document;
}

function parseWithinLimits(source: string): DocumentNode {
  if (source.length > documentLimits.maxLength) tooLarge(`The query is ${source.length} characters long`, 'maxLength', documentLimits.maxLength);
  // Mercurius takes text that does not parse as GraphQL for a JSON syntax tree, which would skip
  // every limit here; no JSON text is also a GraphQL document, so JSON is refused outright.
  if (isJson(source))
    throw new GraphQLError('Syntax Error: the query is JSON, not a GraphQL document', {
      extensions: { code: 'GRAPHQL_PARSE_FAILED', errorCode: 'GRAPHQL_PARSE_FAILED' },
    });
  let document: DocumentNode;
  try {
    document = parse(source, { maxTokens: documentLimits.maxTokens, noLocation: true });
  } catch (error) {
    if (error instanceof GraphQLError && /more th\w+ \d+ tokens/.test(error.message))
      tooLarge('The query has too many tokens', 'maxTokens', documentLimits.maxTokens);
    throw error;
  }
  const counts = { maxFields: 0, maxFragments: 0, maxFragmentSpreads: 0 };
  visit(document, {
    [Kind.FIELD]: () => void counts.maxFields++,
    [Kind.FRAGMENT_DEFINITION]: () => void counts.maxFragments++,
    [Kind.FRAGMENT_SPREAD]: () => void counts.maxFragmentSpreads++,
  });
  const nouns = { maxFields: 'fields', maxFragments: 'fragments', maxFragmentSpreads: 'fragment spreads' };
  for (const limit of ['maxFields', 'maxFragments', 'maxFragmentSpreads'] as const) {
    if (counts[limit] > documentLimits[limit]) tooLarge(`The query has ${counts[limit]} ${nouns[limit]}`, limit, documentLimits[limit]);
  }
  return document;
}

function tooLarge(what: string, limit: keyof typeof documentLimits, max: number): never {
  throw new GraphQLError(`${what}; at most ${max} are allowed`, {
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED', errorCode: 'QUERY_TOO_LARGE', limit, max },
  });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
