import { bumpCatalogVersion } from '../../src/db/catalog-store';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const UPSERT_FEATURE = `mutation($input: FeatureInput!) { upsertFeature(input: $input) { key kind description usagePeriod } }`;
const UPSERT_TIER = `mutation($input: TierInput!) {
  upsertTier(input: $input) { key name rank entitlements { feature { key kind } limit value } }
}`;

describe('the catalog', () => {
  it('creates a feature with MONTH as the default period, and updates it in place', async () => {
    const created = dataOf(await server.gql(UPSERT_FEATURE, { input: { key: 'reports', kind: 'METERED' } }));
    expect(created.upsertFeature).toEqual({
      key: 'reports',
      kind: 'METERED',
      description: null,
      usagePeriod: 'MONTH',
    });

    const updated = dataOf(
      await server.gql(UPSERT_FEATURE, {
        input: { key: 'reports', kind: 'METERED', description: 'Reports per day', usagePeriod: 'DAY' },
      }),
    );
    expect(updated.upsertFeature).toEqual({
      key: 'reports',
      kind: 'METERED',
      description: 'Reports per day',
      usagePeriod: 'DAY',
    });
    const { features } = dataOf(await server.gql('{ features { key usagePeriod } }'));
    expect(features).toEqual([{ key: 'reports', usagePeriod: 'DAY' }]);
  });

  it('creates a tier and replaces its entitlements on the next upsert', async () => {
    dataOf(await server.gql(UPSERT_FEATURE, { input: { key: 'beta', kind: 'BOOLEAN' } }));
    dataOf(await server.gql(UPSERT_FEATURE, { input: { key: 'region', kind: 'CONFIG' } }));
    const first = dataOf(
      await server.gql(UPSERT_TIER, {
        input: {
          key: 'gold',
          name: 'Gold',
          rank: 30,
          entitlements: [
            { feature: 'reports', limit: 10 },
            { feature: 'beta' },
            { feature: 'region', value: { zone: 'eu', replicas: [1, 2] } },
          ],
        },
      }),
    ).upsertTier;
    expect(first).toEqual({
      key: 'gold',
      name: 'Gold',
      rank: 30,
      entitlements: [
        { feature: { key: 'beta', kind: 'BOOLEAN' }, limit: null, value: null },
        { feature: { key: 'region', kind: 'CONFIG' }, limit: null, value: { zone: 'eu', replicas: [1, 2] } },
        { feature: { key: 'reports', kind: 'METERED' }, limit: 10, value: null },
      ],
    });

    const second = dataOf(
      await server.gql(UPSERT_TIER, {
        input: { key: 'gold', name: 'Gold II', rank: 31, entitlements: [{ feature: 'reports', limit: 20 }] },
      }),
    ).upsertTier;
    expect(second).toEqual({
      key: 'gold',
      name: 'Gold II',
      rank: 31,
      entitlements: [{ feature: { key: 'reports', kind: 'METERED' }, limit: 20, value: null }],
    });
  });

  it('lists tiers lowest rank first', async () => {
    dataOf(
      await server.gql(UPSERT_TIER, {
        input: { key: 'starter', name: 'Starter', rank: 0, entitlements: [] },
      }),
    );
    const { tiers } = dataOf(await server.gql('{ tiers { key rank } }'));
    expect(tiers).toEqual([
      { key: 'starter', rank: 0 },
      { key: 'gold', rank: 31 },
    ]);
  });

  it('shows a changed tier to its users on the next read', async () => {
    const read = async () =>
      dataOf(
        await server.gql(`{ _entities(representations: [{ __typename: "User", id: "golden" }]) {
          ... on User { entitlements { feature { key } limit } } } }`),
      )._entities[0].entitlements;
    dataOf(await server.gql('mutation { changeTier(userId: "golden", tier: "gold") { id } }'));
    expect(await read()).toEqual([{ feature: { key: 'reports' }, limit: 20 }]);
    dataOf(
      await server.gql(UPSERT_TIER, {
        input: { key: 'gold', name: 'Gold', rank: 31, entitlements: [{ feature: 'beta' }] },
      }),
    );
    expect(await read()).toEqual([{ feature: { key: 'beta' }, limit: null }]);
  });

  it('shows a limit only on a METERED feature and a value only on a CONFIG one, even after a kind change made before such changes were refused', async () => {
    dataOf(await server.gql(UPSERT_FEATURE, { input: { key: 'morph', kind: 'METERED' } }));
    dataOf(
      await server.gql(UPSERT_TIER, {
        input: {
          key: 'morphing',
          name: 'Morphing',
          rank: 40,
          entitlements: [{ feature: 'morph', limit: 5 }],
        },
      }),
    );
    await server.dataSource.query("UPDATE features SET kind = 'BOOLEAN' WHERE `key` = 'morph'");
    await bumpCatalogVersion(server.dataSource.manager);
    const { tiers } = dataOf(
      await server.gql('{ tiers { key entitlements { feature { key kind } limit value } } }'),
    );
    expect(tiers.find((t: any) => t.key === 'morphing').entitlements).toEqual([
      { feature: { key: 'morph', kind: 'BOOLEAN' }, limit: null, value: null },
    ]);
  });
});
