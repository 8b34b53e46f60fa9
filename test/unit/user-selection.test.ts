import type { FragmentDefinitionNode, GraphQLResolveInfo, OperationDefinitionNode } from 'graphql';
import { Kind, parse } from 'graphql';

import { userSelectionNeedsView } from '../../src/graphql/user-selection';

/** The resolve info of the first `_entities` field of `query`, as far as the rule reads it. */
function entitiesInfo(query: string): GraphQLResolveInfo {
  const document = parse(query);
  const operation = document.definitions.find(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  )!;
  const fragments = Object.fromEntries(
    document.definitions
      .filter(
        (definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION,
      )
      .map((fragment) => [fragment.name.value, fragment]),
  );
  const field = operation.selectionSet.selections[0];
  return { fieldNodes: [field], fragments } as unknown as GraphQLResolveInfo;
}

describe('userSelectionNeedsView', () => {
  it('reads no view for the key and checks of one feature, whatever the fragments', () => {
    expect(
      userSelectionNeedsView(
        entitiesInfo(`query { _entities(representations: []) {
          __typename ... on User { id hasEntitlement(feature: "a") ...Checks }
          ... on Organization { entitlements { feature { key } } }
        } }
        fragment Checks on User { e: entitlement(feature: "b") { source grants { id } } ... { id } }`),
      ),
    ).toBe(false);
  });

  it('reads the view when a User field needs it, directly or through a fragment', () => {
    expect(
      userSelectionNeedsView(
        entitiesInfo('{ _entities(representations: []) { ... on User { tier { key } } } }'),
      ),
    ).toBe(true);
    expect(
      userSelectionNeedsView(
        entitiesInfo(`{ _entities(representations: []) { ... on User { id ...F } } }
          fragment F on User { ... { usage { used } } }`),
      ),
    ).toBe(true);
  });
});
