import { createHash } from 'node:crypto';
import {
  type DirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  getNamedType,
  type GraphQLSchema,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  print,
  type SelectionSetNode,
} from 'graphql';
import { selectedOperation } from './limits.js';

/**
 * The fields whose values change only through writes that bump the feed version (posts and
 * comments created or deleted, images retired with their posts) or never change at all (ids,
 * usernames, image dimensions). An answer made of these alone is as exact under a version key as
 * the REST feed page. Not here: `Image.collections` (collection writes do not bump the version),
 * `me` and everything else at the root. A new write that changes one of these fields must bump
 * the feed version, or cached answers go stale. Each must also depend only on the posts of the
 * feed pages the answer read (their authors, images and comments): an answer is kept across
 * versions while no comment moved a post into, out of or within those pages (RecentFeedPages).
 */
export const feedFields: ReadonlySet<string> = new Set([
  'Query.posts',
  'PostConnection.edges',
  'PostConnection.pageInfo',
  'PostEdge.node',
  'PostEdge.cursor',
  'PageInfo.hasNextPage',
  'PageInfo.hasPreviousPage',
  'PageInfo.startCursor',
  'PageInfo.endCursor',
  'Post.id',
  'Post.caption',
  'Post.author',
  'Post.createdAt',
  'Post.commentCount',
  'Post.image',
  'Post.lastComments',
  'Post.comments',
  'CommentConnection.edges',
  'CommentConnection.pageInfo',
  'CommentEdge.node',
  'CommentEdge.cursor',
  'Comment.id',
  'Comment.body',
  'Comment.author',
  'Comment.createdAt',
  'User.id',
  'User.username',
  'User.createdAt',
  'Image.id',
  'Image.hash',
  'Image.format',
  'Image.width',
  'Image.height',
  'Image.size',
  'Image.url',
  'Image.createdAt',
  'Image.owner',
]);

/** `@include`/`@skip` only select fields (their arguments are variables, which are in the key). */
const selectionDirectives = new Set(['include', 'skip']);

/** A document whose answer depends only on the feed, with what its cache key needs. */
export interface FeedDocument {
  /** SHA-256 of the printed document: whitespace, comments and commas do not split the cache. */
  hash: string;
  /** The variables the chosen operation declares, in order; others cannot change the answer. */
  variableNames: readonly string[];
}

/**
 * The feed document `operationName` picks out of `document`, or null when its answer could depend
 * on anything but the feed: not a query, a field outside `feedFields` (introspection included), a
 * directive other than @include/@skip, or a fragment whose type is not the one it is spread in.
 * Invalid documents may pass: they fail validation, and failures are never cached. Each fragment
 * is judged once, so nested spreads cost linear time.
 */
export function feedDocumentOf(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): FeedDocument | null {
  const operation = selectedOperation(document, operationName);
  const root = schema.getQueryType();
  if (operation?.operation !== 'query' || !root || !plainDirectives(operation.directives)) return null;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const verdicts = new Map<string, boolean>();

  const fragmentQualifies = (name: string, typeName: string): boolean => {
    const fragment = fragments.get(name);
    if (!fragment || fragment.typeCondition.name.value !== typeName) return false;
    let verdict = verdicts.get(name);
    if (verdict === undefined) {
      verdicts.set(name, false); // a cycle (invalid anyway) judges itself false
      verdict = plainDirectives(fragment.directives) && selectionsQualify(typeName, fragment.selectionSet);
      verdicts.set(name, verdict);
    }
    return verdict;
  };

  const selectionsQualify = (typeName: string, selectionSet: SelectionSetNode): boolean => {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) return false;
    return selectionSet.selections.every((selection) => {
      if (!plainDirectives(selection.directives)) return false;
      if (selection.kind === Kind.FRAGMENT_SPREAD) return fragmentQualifies(selection.name.value, typeName);
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        // Every type here is an object type: any other condition is invalid or never applies.
        return (
          (selection.typeCondition === undefined || selection.typeCondition.name.value === typeName) && selectionsQualify(typeName, selection.selectionSet)
        );
      }
      const name = selection.name.value;
      if (name === '__typename') return selection.selectionSet === undefined;
      const field = type.getFields()[name];
      if (!field || !feedFields.has(`${typeName}.${name}`)) return false;
      return selection.selectionSet === undefined || selectionsQualify(getNamedType(field.type).name, selection.selectionSet);
    });
  };

  if (!selectionsQualify(root.name, operation.selectionSet)) return null;
  return { hash: createHash('sha256').update(print(document)).digest('base64url'), variableNames: declaredVariables(operation) };
}

function plainDirectives(directives: readonly DirectiveNode[] | undefined): boolean {
  return (directives ?? []).every((directive) => selectionDirectives.has(directive.name.value));
}

function declaredVariables(operation: OperationDefinitionNode): string[] {
  return (operation.variableDefinitions ?? []).map((definition) => definition.variable.name.value);
}
