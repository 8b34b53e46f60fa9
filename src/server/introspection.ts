import type { DocumentNode, OperationDefinitionNode, SelectionSetNode } from 'graphql';
import { Kind } from 'graphql';

import { assertAuthenticated } from '../auth/access';
import type { Caller } from '../auth/caller';

/**
 * Introspection (where it is on at all, outside production) needs a valid token like everything else;
 * only `_service`, which composition reads, answers without one.
 */
export function assertIntrospectionAuthenticated(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  caller: Caller,
): void {
  let asks = asksIntrospection.get(operation);
  if (asks === undefined) {
    asks = rootFields(operation.selectionSet, document).some(isIntrospection);
    asksIntrospection.set(operation, asks);
  }
  if (asks) assertAuthenticated(caller);
}

/** Per operation node: documents are parsed once per query text (Apollo's cache, the socket's cache). */
const asksIntrospection = new WeakMap<OperationDefinitionNode, boolean>();

const isIntrospection = (name: string) => name === '__schema' || name === '__type';

/** The operation's top-level field names, looking through inline fragments and fragment spreads. */
function rootFields(
  selectionSet: SelectionSetNode,
  document: DocumentNode,
  seen = new Set<string>(),
): string[] {
  return selectionSet.selections.flatMap((selection) => {
    if (selection.kind === Kind.FIELD) return [selection.name.value];
    if (selection.kind === Kind.INLINE_FRAGMENT) return rootFields(selection.selectionSet, document, seen);
    if (seen.has(selection.name.value)) return [];
    seen.add(selection.name.value);
    const fragment = document.definitions.find(
      (definition) =>
        definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === selection.name.value,
    );
    return fragment?.kind === Kind.FRAGMENT_DEFINITION
      ? rootFields(fragment.selectionSet, document, seen)
      : [];
  });
}
