import { CatalogChangeRow } from '../../src/db/entities';
import { assignSeats, setOrganizationLicense } from '../testkit/organizations';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

const FEATURE =
  'mutation($input: FeatureInput!) { upsertFeature(input: $input) { key kind description usagePeriod } }';
const TIER = 'mutation($input: TierInput!) { upsertTier(input: $input) { key } }';
const FEATURES = '{ features { key kind description usagePeriod } }';

/**
 * Issue 12 item 14: upsertFeature no longer changes what existing limits, values and counters mean behind
 * their back, keeps what it is not told, and every catalog change is on record.
 */
describe('catalog changes', () => {
  let server: TestServer;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.token('catalog-admin', ['entitlements:read', 'entitlements:write']);
  });
  afterAll(() => server.stop());

  const upsertFeature = (input: Record<string, unknown>) => server.gqlAs(admin, FEATURE, { input });
  const upsertTier = async (input: Record<string, unknown>) =>
    dataOf(await server.gqlAs(admin, TIER, { input: { name: 'Tier', rank: 1, ...input } }));
  const feature = async (key: string) =>
    dataOf(await server.gql(FEATURES)).features.find((found: { key: string }) => found.key === key);
  /** Counts one use of `key` in the pool of an organization whose tier `tierKey` gives it. */
  const drawFromPool = async (key: string, tierKey: string) => {
    dataOf(await upsertFeature({ key, kind: 'METERED', meterScope: 'ORGANIZATION' }));
    await upsertTier({ key: tierKey, entitlements: [{ feature: key, limit: 5 }] });
    await setOrganizationLicense(server, `${tierKey}-holder`, tierKey);
    await assignSeats(server, `${tierKey}-holder`, ['pool-user']);
    const meter = await server.token('meter', ['usage:write']);
    const { recordUsage } = dataOf(
      await server.gqlAs(meter, 'mutation($i: RecordUsageInput!) { recordUsage(input: $i) { allowed } }', {
        i: { userId: 'pool-user', feature: key, organizationId: `${tierKey}-holder` },
      }),
    );
    expect(recordUsage.allowed).toBe(true);
  };
  const changes = (entityKey: string) =>
    server.dataSource.getRepository(CatalogChangeRow).find({ where: { entityKey }, order: { id: 'ASC' } });

  it('keeps an omitted description and usage period, and a new feature counts by month', async () => {
    dataOf(
      await upsertFeature({
        key: 'exports',
        kind: 'METERED',
        description: 'PDF exports',
        usagePeriod: 'DAY',
      }),
    );
    const changed = dataOf(await upsertFeature({ key: 'exports', kind: 'METERED' })).upsertFeature;
    expect(changed).toEqual({
      key: 'exports',
      kind: 'METERED',
      description: 'PDF exports',
      usagePeriod: 'DAY',
    });
    expect(await feature('exports')).toEqual(changed);

    dataOf(await upsertFeature({ key: 'exports', kind: 'METERED', description: null, usagePeriod: 'WEEK' }));
    expect(await feature('exports')).toMatchObject({ description: null, usagePeriod: 'WEEK' });

    expect(dataOf(await upsertFeature({ key: 'fresh', kind: 'METERED' })).upsertFeature.usagePeriod).toBe(
      'MONTH',
    );
  });

  it.each([
    [
      'a tier',
      'in-tier',
      async (key: string) => upsertTier({ key: 'kinds-1', entitlements: [{ feature: key, limit: 5 }] }),
    ],
    [
      'a grant',
      'in-grant',
      async (key: string) =>
        dataOf(
          await server.gql('mutation($i: GrantEntitlementInput!) { grantEntitlement(input: $i) { id } }', {
            i: { userId: 'kinds-user', feature: key, limit: 5 },
          }),
        ),
    ],
    [
      'a usage counter',
      'in-counter',
      async (key: string) => {
        await upsertTier({ key: 'basic', entitlements: [{ feature: key, limit: 5 }] });
        const meter = await server.token('meter', ['usage:write']);
        dataOf(
          await server.gqlAs(
            meter,
            'mutation($i: RecordUsageInput!) { recordUsage(input: $i) { allowed } }',
            {
              i: { userId: 'kinds-user', feature: key },
            },
          ),
        );
        // The tier no longer refers to it; the counter still does.
        await upsertTier({ key: 'basic', entitlements: [] });
      },
    ],
  ])('refuses a kind change while %s uses the feature, changing nothing', async (_what, key, use) => {
    dataOf(await upsertFeature({ key, kind: 'METERED' }));
    await use(key);
    const before = await changes(key);

    const refused = await upsertFeature({ key, kind: 'BOOLEAN' });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'kind' });
    expect(await feature(key)).toMatchObject({ kind: 'METERED' });
    expect(await changes(key)).toEqual(before);
    // What does not touch the kind still changes.
    dataOf(await upsertFeature({ key, kind: 'METERED', description: 'still metered' }));
  });

  it('refuses a meter scope or kind change while usage is counted in a pool, and changes the scope while nothing is', async () => {
    await drawFromPool('scoped', 'scoped-org');
    const before = await changes('scoped');
    for (const input of [
      { meterScope: 'USER' },
      { kind: 'BOOLEAN' },
      { kind: 'BOOLEAN', meterScope: 'USER' },
    ]) {
      const refused = await upsertFeature({ key: 'scoped', kind: 'METERED', ...input });
      expect(refused.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    }
    expect(await changes('scoped')).toEqual(before);

    dataOf(await upsertFeature({ key: 'rescoped', kind: 'METERED', meterScope: 'ORGANIZATION' }));
    dataOf(await upsertFeature({ key: 'rescoped', kind: 'METERED', meterScope: 'USER' }));
    const scopes = dataOf(await server.gql('{ features { key meterScope } }')).features.filter(
      (found: { key: string }) => ['scoped', 'rescoped'].includes(found.key),
    );
    expect(scopes).toEqual([
      { key: 'rescoped', meterScope: 'USER' },
      { key: 'scoped', meterScope: 'ORGANIZATION' },
    ]);
  });

  it('changes the kind of a feature nothing uses', async () => {
    dataOf(await upsertFeature({ key: 'unused', kind: 'METERED' }));
    expect(dataOf(await upsertFeature({ key: 'unused', kind: 'CONFIG' })).upsertFeature.kind).toBe('CONFIG');
  });

  it('records each feature and tier change with who made it, before and after, and nothing for a no-op', async () => {
    dataOf(await upsertFeature({ key: 'audited', kind: 'BOOLEAN', description: 'first' }));
    dataOf(await upsertFeature({ key: 'audited', kind: 'BOOLEAN', description: 'second' }));
    dataOf(await upsertFeature({ key: 'audited', kind: 'BOOLEAN' }));
    const featureChanges = await changes('audited');
    expect(featureChanges).toEqual([
      expect.objectContaining({
        entity: 'FEATURE',
        actor: 'catalog-admin',
        before: null,
        after: {
          key: 'audited',
          kind: 'BOOLEAN',
          description: 'first',
          usagePeriod: 'MONTH',
          meterScope: 'USER',
          alertThresholds: [],
        },
        occurredAt: expect.any(Date),
      }),
      expect.objectContaining({
        before: expect.objectContaining({ description: 'first' }),
        after: expect.objectContaining({ description: 'second' }),
      }),
    ]);

    await upsertTier({ key: 'audited-tier', entitlements: [{ feature: 'audited' }] });
    await upsertTier({ key: 'audited-tier', name: 'Renamed', entitlements: [{ feature: 'audited' }] });
    await upsertTier({ key: 'audited-tier', name: 'Renamed', entitlements: [{ feature: 'audited' }] });
    const tierChanges = await changes('audited-tier');
    expect(tierChanges.map(({ entity, before, after }) => ({ entity, before, after }))).toEqual([
      {
        entity: 'TIER',
        before: null,
        after: {
          key: 'audited-tier',
          name: 'Tier',
          rank: 1,
          entitlements: [{ feature: 'audited', limit: null, value: null }],
        },
      },
      {
        entity: 'TIER',
        before: expect.objectContaining({ name: 'Tier' }),
        after: expect.objectContaining({ name: 'Renamed' }),
      },
    ]);
  });
});
