import {
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  getNamedType,
  type GraphQLCompositeType,
  GraphQLError,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  isCompositeType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
  type ValueNode,
} from 'graphql';
import { pageLimitMax } from '../../core/posts/post-rules.js';

/**
 * Abuse limits, checked before anything executes.
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
 *
 * Every walk here visits each fragment once per document and remembers its result: a fragment
 * spread twice in a fragment spread twice… is 2^n selections when expanded, and expanding them
 * let an 823-byte query block the process for seconds.
 */

/** Assumed sizes of lists without a `first` argument. */
const assumedListSizes: Record<string, number> = {
  'Post.lastComments': 2,
  'Collection.images': 100,
  'Image.collections': 10,
};

type Variables = Record<string, unknown> | null | undefined;

/** Connection wrappers: structure, not data, so they count for neither depth nor cost. */
function isPlumbing(type: GraphQLNamedType): boolean {
  return type.name === 'PageInfo' || type.name.endsWith('Connection') || type.name.endsWith('Edge');
}

/** Refuses operations nesting objects deeper than `maxDepth`; introspection is exempt (the schema bounds it). */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context) => {
    const schema = context.getSchema();
    const depthOf = fragmentWalk<number>(context.getDocument(), schema, 0, (selectionSet, parent, walk) => {
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        let depth = 0;
        if (selection.kind === Kind.FIELD) {
          const field = fieldOf(parent, selection);
          const type = field && getNamedType(field.type);
          if (type && isCompositeType(type) && selection.selectionSet) depth = (isPlumbing(type) ? 0 : 1) + walk.selections(selection.selectionSet, type);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
          if (type && isCompositeType(type)) depth = walk.selections(selection.selectionSet, type);
        } else {
          depth = walk.fragment(selection.name.value);
        }
        deepest = Math.max(deepest, depth);
      }
      return deepest;
    });
    return {
      OperationDefinition(operation) {
        const root = schema.getRootType(operation.operation);
        if (!root) return;
        const depth = depthOf(operation.selectionSet, root);
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

/** True for the error `assertWithinCost` throws. */
export function isTooComplex(error: unknown): boolean {
  return error instanceof GraphQLError && error.extensions.errorCode === 'QUERY_TOO_COMPLEX';
}

/**
 * Throws a GraphQLError (QUERY_TOO_COMPLEX) when the operation may resolve more than `maxCost`
 * objects. Safe on documents not yet validated (unknown fields and fragments count nothing).
 */
export function assertWithinCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Variables,
  operationName: string | null | undefined,
  maxCost: number,
): void {
  const cost = operationCost(schema, document, variables, operationName);
  if (cost > maxCost) throw tooComplex(cost, maxCost);
}

/**
 * assertWithinCost for documents that are run again and again (Mercurius hands each repeat of a
 * query text the same parsed document): the cost of an operation that declares no variables
 * depends on nothing else, so it is computed once per document, schema and operation name and
 * only compared on later requests. An operation with variables is measured on every request,
 * since its cost follows their values (`first: $n`, `@skip(if: $x)`).
 */
export function costCheck(maxCost: number) {
  const known = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, number>>>();
  return (schema: GraphQLSchema, document: DocumentNode, variables: Variables, operationName: string | null | undefined): void => {
    const operation = selectedOperation(document, operationName);
    if (!operation || (operation.variableDefinitions?.length ?? 0) > 0) {
      assertWithinCost(schema, document, variables, operationName, maxCost);
      return;
    }
    let documents = known.get(schema);
    if (!documents) known.set(schema, (documents = new WeakMap()));
    let operations = documents.get(document);
    if (!operations) documents.set(document, (operations = new Map()));
    // Operation names are never empty: '' stands for "the only operation".
    const key = operationName ?? '';
    let cost = operations.get(key);
    if (cost === undefined) operations.set(key, (cost = operationCost(schema, document, undefined, operationName)));
    if (cost > maxCost) throw tooComplex(cost, maxCost);
  };
}

/** How many objects the operation may resolve (see the top of this file); 0 when no operation is selected. */
function operationCost(schema: GraphQLSchema, document: DocumentNode, variables: Variables, operationName: string | null | undefined): number {
  const operation = selectedOperation(document, operationName);
  const root = operation && schema.getRootType(operation.operation);
  if (!operation || !root) return 0;
  const argument = argumentReader(operation, variables);
  const costOf = fragmentWalk<number>(document, schema, 0, (selectionSet, parent, walk) => {
    let sum = 0;
    for (const selection of selectionSet.selections) {
      if (isExcluded(selection.directives, variables)) continue;
      if (selection.kind === Kind.FIELD) {
        const field = fieldOf(parent, selection);
        const type = field && getNamedType(field.type);
        if (!field || !type || !isCompositeType(type) || !selection.selectionSet) continue;
        const own = isPlumbing(type) ? 0 : 1;
        sum += listSize(parent, field, selection, argument) * (own + walk.selections(selection.selectionSet, type));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (type && isCompositeType(type)) sum += walk.selections(selection.selectionSet, type);
      } else {
        sum += walk.fragment(selection.name.value);
      }
    }
    return sum;
  });
  return costOf(operation.selectionSet, root);
}

function tooComplex(cost: number, maxCost: number): GraphQLError {
  const shown = Number.isFinite(cost) && cost < Number.MAX_SAFE_INTEGER ? cost : Number.MAX_SAFE_INTEGER;
  return new GraphQLError(`The operation could resolve ${shown} objects; at most ${maxCost} are allowed (lists count at their "first")`, {
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED', errorCode: 'QUERY_TOO_COMPLEX', cost: shown, maxCost },
  });
}

/** The root fields of the executed operation when it is a mutation (each one is a write), in document order, fragments expanded. */
export function mutationFieldNames(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): string[] {
  const operation = selectedOperation(document, operationName);
  const root = schema.getMutationType();
  if (operation?.operation !== 'mutation' || !root) return [];
  // Fragments on Mutation count too.
  const names = fragmentWalk<string[]>(document, schema, [], (selectionSet, parent, walk) =>
    selectionSet.selections.flatMap((selection) => {
      if (selection.kind === Kind.FIELD) return [selection.name.value];
      if (selection.kind === Kind.INLINE_FRAGMENT) return walk.selections(selection.selectionSet, parent);
      return walk.fragment(selection.name.value);
    }),
  );
  return names(operation.selectionSet, root);
}

/** The operation a request runs: the named one, or the only one (GraphQL spec, GetOperation()). */
export function selectedOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | null {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName === undefined || operationName === null) return operations.length === 1 ? operations[0]! : null;
  return operations.find((operation) => operation.name?.value === operationName) ?? null;
}

interface Walk<T> {
  selections(selectionSet: SelectionSetNode, parent: GraphQLCompositeType): T;
  fragment(name: string): T;
}

/**
 * A walk over selection sets in which each fragment is evaluated once, against its own type
 * condition (so once per fragment is exact), and its result reused wherever it is spread. A
 * fragment met again while it is being evaluated (a cycle, which validation refuses) or unknown
 * yields `none`.
 */
function fragmentWalk<T>(
  document: DocumentNode,
  schema: GraphQLSchema,
  none: T,
  visit: (selectionSet: SelectionSetNode, parent: GraphQLCompositeType, walk: Walk<T>) => T,
): (selectionSet: SelectionSetNode, parent: GraphQLCompositeType) => T {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const known = new Map<string, T>();
  const walk: Walk<T> = {
    selections: (selectionSet, parent) => visit(selectionSet, parent, walk),
    fragment(name) {
      if (known.has(name)) return known.get(name)!;
      known.set(name, none);
      const fragment = fragments.get(name);
      const type = fragment && schema.getType(fragment.typeCondition.name.value);
      const result = fragment && type && isCompositeType(type) ? visit(fragment.selectionSet, type, walk) : none;
      known.set(name, result);
      return result;
    },
  };
  return walk.selections;
}

function fieldOf(parent: GraphQLCompositeType, node: FieldNode): GraphQLField<unknown, unknown> | undefined {
  const name = node.name.value;
  if (name.startsWith('__') || !(isObjectType(parent) || isInterfaceType(parent))) return undefined;
  return parent.getFields()[name];
}

/** The size a list field is counted at: its `first` (capped), or an assumption for plain lists. */
function listSize(
  parent: GraphQLCompositeType,
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  argument: (node: FieldNode, name: string) => unknown,
): number {
  const firstArgument = field.args.find((arg) => arg.name === 'first');
  if (firstArgument) {
    const given = argument(node, 'first');
    const first = given === undefined ? firstArgument.defaultValue : given;
    // Unknown until coerced (a variable that is not a number): counted as the largest page.
    return typeof first === 'number' && Number.isFinite(first) ? Math.min(Math.max(first, 0), pageLimitMax) : pageLimitMax;
  }
  const type = isNonNullType(field.type) ? field.type.ofType : field.type;
  return isListType(type) ? (assumedListSizes[`${parent.name}.${field.name}`] ?? 1) : 1;
}

/** Reads a literal or variable argument; `undefined` when absent (the field's default then applies). */
function argumentReader(operation: OperationDefinitionNode, variables: Variables): (node: FieldNode, name: string) => unknown {
  const defaults = new Map(operation.variableDefinitions?.map((d) => [d.variable.name.value, d.defaultValue]) ?? []);
  return (node, name) => {
    const value = node.arguments?.find((arg) => arg.name.value === name)?.value;
    if (!value) return undefined;
    if (value.kind !== Kind.VARIABLE) return literal(value);
    const variable = value.name.value;
    if (variables && Object.hasOwn(variables, variable)) return variables[variable];
    const fallback = defaults.get(variable);
    return fallback ? literal(fallback) : undefined;
  };
}

function literal(value: ValueNode): unknown {
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.NULL) return null;
  return value.kind === Kind.BOOLEAN ? value.value : NaN;
}

/** `@skip(if: true)` / `@include(if: false)` with a known value; an unknown one counts the selection. */
function isExcluded(directives: readonly DirectiveNode[] | undefined, variables: Variables): boolean {
  for (const directive of directives ?? []) {
    const name = directive.name.value;
    if (name !== 'skip' && name !== 'include') continue;
    const node = directive.arguments?.find((arg) => arg.name.value === 'if')?.value;
    const value = node?.kind === Kind.BOOLEAN ? node.value : node?.kind === Kind.VARIABLE ? variables?.[node.name.value] : undefined;
    if (typeof value === 'boolean' && (name === 'skip' ? value : !value)) return true;
  }
  return false;
}
