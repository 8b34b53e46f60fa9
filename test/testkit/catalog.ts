import type { TestServer } from './server';
import { dataOf } from './server';

/**
 * A small catalog every suite can rely on (the test server's DEFAULT_TIER is `basic`):
 * - `api` METERED (monthly), `seats` METERED (lifetime), `sso` and `audit` BOOLEAN, `theme` CONFIG
 * - tiers `basic` (rank 0), `team` (rank 10), `corp` (rank 20)
 */
export async function createTestCatalog(server: TestServer, adminToken?: string): Promise<void> {
  const gql = (query: string, variables: Record<string, unknown>) =>
    adminToken ? server.gqlAs(adminToken, query, variables) : server.gql(query, variables);
  const features = [
    { key: 'api', kind: 'METERED', usagePeriod: 'MONTH' },
    { key: 'seats', kind: 'METERED', usagePeriod: 'NEVER' },
    { key: 'sso', kind: 'BOOLEAN' },
    { key: 'audit', kind: 'BOOLEAN' },
    { key: 'theme', kind: 'CONFIG' },
  ];
  for (const input of features) {
    dataOf(await gql('mutation($input: FeatureInput!) { upsertFeature(input: $input) { key } }', { input }));
  }
  const tiers = [
    {
      key: 'basic',
      name: 'Basic',
      rank: 0,
      entitlements: [
        { feature: 'api', limit: 100 },
        { feature: 'seats', limit: 1 },
        { feature: 'theme', value: { color: 'grey' } },
      ],
    },
    {
      key: 'team',
      name: 'Team',
      rank: 10,
      entitlements: [
        { feature: 'api', limit: 1000 },
        { feature: 'seats', limit: 10 },
        { feature: 'audit' },
        { feature: 'theme', value: { color: 'blue' } },
      ],
    },
    {
      key: 'corp',
      name: 'Corporate',
      rank: 20,
      entitlements: [
        { feature: 'api' },
        { feature: 'seats', limit: 500 },
        { feature: 'audit' },
        { feature: 'sso' },
      ],
    },
  ];
  for (const input of tiers) {
    dataOf(await gql('mutation($input: TierInput!) { upsertTier(input: $input) { key } }', { input }));
  }
}

/** `tiny` (rank 1): a small monthly `api` quota of 50, for the metering suites' limit and concurrency cases. */
export async function createTinyTier(server: TestServer): Promise<void> {
  dataOf(
    await server.gql(
      'mutation { upsertTier(input: { key: "tiny", name: "Tiny", rank: 1, entitlements: [{ feature: "api", limit: 50 }] }) { key } }',
    ),
  );
}
