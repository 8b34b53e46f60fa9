import type { FieldNode, FragmentDefinitionNode, GraphQLResolveInfo, SelectionSetNode } from 'graphql';
import { Kind } from 'graphql';

/** User fields answered without the license view: the key, and checks of one feature (they read only it). */
const WITHOUT_VIEW = new Set(['__typename', 'id', 'hasEntitlement', 'entitlement']);

/** Per field node of the document (parsed once per text), so reckoned once per document, not per request. */
const needsByNode = new WeakMap<FieldNode, boolean>();

/**
 * Whether the User selections of `_entities` (`info`) ask for any field that reads the whole license view.
 * When they do, the view is loaded with the entity, and every field answers from it without waiting.
 */
export function userSelectionNeedsView(info: GraphQLResolveInfo): boolean {
  const [node] = info.fieldNodes;
  let needs = needsByNode.get(node);
  if (needs === undefined) {
    needs = info.fieldNodes.some(
      (field) => field.selectionSet !== undefined && needsView(field.selectionSet, info.fragments, true),
    );
    needsByNode.set(node, needs);
  }
  return needs;
}

/** `onUser`: whether the selections are on a User (false inside another type's fragment). */
function needsView(
  selectionSet: SelectionSetNode,
  fragments: Record<string, FragmentDefinitionNode>,
  onUser: boolean,
): boolean {
  return selectionSet.selections.some((selection) => {
    if (selection.kind === Kind.FIELD) return onUser && !WITHOUT_VIEW.has(selection.name.value);
    const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments[selection.name.value];
    const typeName = fragment.typeCondition?.name.value;
    return needsView(fragment.selectionSet, fragments, typeName === undefined ? onUser : typeName === 'User');
  });
}
