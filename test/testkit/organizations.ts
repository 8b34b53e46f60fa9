import type { TestServer } from './server';
import { dataOf } from './server';

/**
 * What organization suites add to the test catalog (createTestCatalog first):
 * - `calls`: METERED, pooled (meterScope ORGANIZATION), monthly
 * - tier `starter` (rank 5): api 50, calls 10
 * - tier `business` (rank 15): api 500, calls 30, sso, theme black
 */
export async function createOrganizationCatalog(server: TestServer): Promise<void> {
  dataOf(
    await server.gql(
      'mutation { upsertFeature(input: { key: "calls", kind: METERED, usagePeriod: MONTH, meterScope: ORGANIZATION }) { key } }',
    ),
  );
  const tiers = [
    {
      key: 'starter',
      name: 'Starter',
      rank: 5,
      entitlements: [
        { feature: 'api', limit: 50 },
        { feature: 'calls', limit: 10 },
      ],
    },
    {
      key: 'business',
      name: 'Business',
      rank: 15,
      entitlements: [
        { feature: 'api', limit: 500 },
        { feature: 'calls', limit: 30 },
        { feature: 'sso' },
        { feature: 'theme', value: { color: 'black' } },
      ],
    },
  ];
  for (const input of tiers) {
    dataOf(await server.gql('mutation($input: TierInput!) { upsertTier(input: $input) { key } }', { input }));
  }
}

/** Creates or changes an organization's license (seatLimit omitted: unlimited). */
export async function setOrganizationLicense(
  server: TestServer,
  organizationId: string,
  tier: string,
  seatLimit?: number | null,
): Promise<void> {
  dataOf(
    await server.gql(
      'mutation($input: OrganizationLicenseInput!) { setOrganizationLicense(input: $input) { id } }',
      { input: { organizationId, tier, seatLimit } },
    ),
  );
}

export async function assignSeats(
  server: TestServer,
  organizationId: string,
  userIds: string[],
): Promise<void> {
  for (const userId of userIds) {
    dataOf(
      await server.gql(
        'mutation($o: ID!, $u: ID!) { assignSeat(organizationId: $o, userId: $u) { assignedAt } }',
        {
          o: organizationId,
          u: userId,
        },
      ),
    );
  }
}

export async function unassignSeat(
  server: TestServer,
  organizationId: string,
  userId: string,
): Promise<void> {
  dataOf(
    await server.gql(
      'mutation($o: ID!, $u: ID!) { unassignSeat(organizationId: $o, userId: $u) { assignedAt } }',
      {
        o: organizationId,
        u: userId,
      },
    ),
  );
}

/** Grants a feature to an organization as a whole; returns the grant's id. */
export async function grantToOrganization(
  server: TestServer,
  input: Record<string, unknown>,
): Promise<string> {
  return dataOf(
    await server.gql(
      'mutation($input: GrantOrganizationEntitlementInput!) { grantOrganizationEntitlement(input: $input) { id } }',
      { input },
    ),
  ).grantOrganizationEntitlement.id as string;
}

/** One entity read through `_entities`, as the router asks for it. */
export async function entity(
  server: TestServer,
  typename: 'User' | 'Organization',
  id: string,
  fields: string,
): Promise<any> {
  return dataOf(
    await server.gql(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on ${typename} { ${fields} } } }`,
      { reps: [{ __typename: typename, id }] },
    ),
  )._entities[0];
}

/** One organization's stored events, oldest first. */
export async function organizationEvents(
  server: TestServer,
  organizationId: string,
  fields = 'type',
): Promise<any[]> {
  return dataOf(
    await server.gql(
      `query($o: ID) { licenseEvents(organizationId: $o, first: 1000) { events { ${fields} } } }`,
      { o: organizationId },
    ),
  ).licenseEvents.events;
}
