import { createRequire } from 'node:module';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  getNamedType,
  type GraphQLCompositeType,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  isCompositeType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import type { ComplexityEstimator } from 'graphql-query-complexity';
import type * as QueryComplexity from 'graphql-query-complexity';
import { pageLimitMax } from '../../core/posts/post-rules.js';

/**
 * Abuse limits, checked before anything executes (SPEC §5).
 *
 * Depth counts the objects a client nests: `collection { images { collections { id } } }` is 3.
 * Scalar leaves and Relay plumbing (`…Connection`, `…Edge`, `PageInfo`) add no level, so the feed
 * `posts { edges { node { author { username } } } }` is 2. Mercurius's own `queryDepth` counts
 * every field, leaves and plumbing included (that feed query would be 5): no single setting of it
 * both lets the feed with last comments' authors through and stops a fourth level of objects.
 *
 * Cost estimates how many objects an operation can resolve: each object counts 1, and a list
 * multiplies what it selects by its size — `first` (capped at 100, as the resolvers cap it) for
 * connections, a fixed assumption for plain lists. Aliases each count, so 1,000 aliased
 * `posts(first: 100)` cost 100,000 before a single resolver runs.
 */

// Its ESM build imports graphql's `.mjs` files: a second copy of graphql beside the CommonJS one
// Mercurius builds the schema with ("Cannot use GraphQLObjectType from another module or realm").
const { getComplexity } = createRequire(import.meta.url)('graphql-query-complexity') as typeof QueryComplexity;

/** Assumed sizes of lists without a `first` argument. */
const assumedListSizes: Record<string, number> = {
  'Post.lastComments': 2,
  'Collection.images': 100,
  'Image.collections': 10,
};

/** Connection wrappers: structure, not data, so they count for neither depth nor cost. */
function isPlumbing(type: GraphQLNamedType): boolean {
  return type.name === 'PageInfo' || type.name.endsWith('Connection') || type.name.endsWith('Edge');
}

/** Refuses operations nesting objects deeper than `maxDepth`; introspection is exempt (the schema bounds it). */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context) => {
    const schema = context.getSchema();
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const depthOf = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType, visiting: Set<string>): number => {
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        let depth = 0;
        if (selection.kind === Kind.FIELD) {
          const name = selection.name.value;
          const field = isObjectType(parent) && !name.startsWith('__') ? parent.getFields()[name] : undefined;
          const type = field && getNamedType(field.type);
          if (type && isCompositeType(type) && selection.selectionSet) {
            depth = (isPlumbing(type) ? 0 : 1) + depthOf(selection.selectionSet, type, visiting);
          }
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
          if (type && isCompositeType(type)) depth = depthOf(selection.selectionSet, type, visiting);
        } else {
          const fragment = fragments.get(selection.name.value);
          const type = fragment && schema.getType(fragment.typeCondition.name.value);
          // Cycles are reported by NoFragmentCyclesRule; here they just stop the walk.
          if (fragment && type && isCompositeType(type) && !visiting.has(fragment.name.value)) {
            depth = depthOf(fragment.selectionSet, type, new Set([...visiting, fragment.name.value]));
          }
        }
        deepest = Math.max(deepest, depth);
      }
      return deepest;
    };
    return {
      OperationDefinition(operation) {
        const root = schema.getRootType(operation.operation);
        if (!root) return;
        const depth = depthOf(operation.selectionSet, root, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`The operation nests objects ${depth} levels deep; at most ${maxDepth} are allowed`, {
              nodes: operation,
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED', errorCode: 'QUERY_TOO_DEEP', depth, maxDepth },
            }),
          );
        }
      },
    };
  };
}

const objectCount: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  const named = getNamedType(field.type);
  if (field.name.startsWith('__')) return 0;
  const own = isCompositeType(named) && !isPlumbing(named) ? 1 : 0;
  return listSize(`${type.name}.${field.name}`, field.type, args) * (own + childComplexity);
};

function listSize(coordinate: string, type: unknown, args: Record<string, unknown>): number {
  if (typeof args.first === 'number') return Math.min(Math.max(args.first, 0), pageLimitMax);
  const unwrapped = isNonNullType(type) ? type.ofType : type;
  return isListType(unwrapped) ? (assumedListSizes[coordinate] ?? 1) : 1;
}

/** True for the error `assertWithinCost` throws. */
export function isTooComplex(error: unknown): boolean {
  return error instanceof GraphQLError && error.extensions.errorCode === 'QUERY_TOO_COMPLEX';
}

/**
 * Throws a GraphQLError (QUERY_TOO_COMPLEX) when the operation may resolve more than `maxCost`
 * objects. Call after validation; `variables` are the request's.
 */
export function assertWithinCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined, maxCost: number): void {
  const cost = getComplexity({ schema, query: document, variables: variables ?? {}, operationName, estimators: [objectCount] });
  if (cost > maxCost) {
    throw new GraphQLError(`The operation could resolve ${cost} objects; at most ${maxCost} are allowed (lists count at their "first")`, {
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', errorCode: 'QUERY_TOO_COMPLEX', cost, maxCost },
    });
  }
}
