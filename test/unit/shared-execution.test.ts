import type { GraphQLSchema } from 'graphql';
import { parse } from 'graphql';

import { authenticated } from '../../src/auth/caller';
import { buildSubgraph } from '../../src/graphql/schema';
import { shareKey } from '../../src/server/shared-execution';

describe('which subscriptions share the execution of an event', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildSubgraph();
  });

  const keyOf = (query: string, subject: string, scopes: string[] = []) =>
    shareKey({
      schema,
      document: parse(query),
      contextValue: { caller: authenticated(subject, scopes, null) },
      variableValues: { userId: null },
    });

  it.each([
    'subscription { entitlementRevoked { id type organization { id } fromTier { key } toTier { key } } }',
    'subscription { licenseEvents { ...Event __typename } } fragment Event on LicenseEvent { at: occurredAt actor reason feature { key kind usagePeriod } user { id } }',
    'subscription($userId: ID) { entitlementGranted(userId: $userId) { toTier { key rank entitlements { feature { key } limit value } } } }',
  ])('shares %s between callers: nothing in it reads the caller', (query) => {
    expect(keyOf(query, 'alice')).toBe(keyOf(query, 'bob', ['entitlements:read']));
  });

  it.each([
    // Each needs a check of the caller's access, or reads what only some callers may see.
    'subscription { licenseEvents { user { id tier { key } } } }',
    'subscription { licenseEvents { grant { id } } }',
    'subscription { entitlementRevoked { organization { id license { status } } } }',
    'subscription { licenseEvents { ... on LicenseEvent { user { entitlements { feature { key } } } } } }',
  ])('keeps %s per caller', (query) => {
    expect(keyOf(query, 'alice')).not.toBe(keyOf(query, 'bob'));
    expect(keyOf(query, 'alice')).not.toBe(keyOf(query, 'alice', ['entitlements:read']));
    expect(keyOf(query, 'alice')).toBe(keyOf(query, 'alice'));
  });
});
