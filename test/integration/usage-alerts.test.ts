import { FeatureRow, UsageAlertRow } from '../../src/db/entities';
import { periodWindow } from '../../src/domain/periods';
import { createTestCatalog } from '../testkit/catalog';
import { describeOnMysql } from '../testkit/database';
import { recordUsage, storedEvents } from '../testkit/licensing';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';
import { openSocket, untilSubscribed } from '../testkit/subscriptions';
import { waitUntil } from '../testkit/wait';

/** Rule A1: USAGE_THRESHOLD_REACHED once per meter, period and threshold, in the transaction of the usage. */

let server: TestServer;
let meter: string;
let userSeq = 0;
const newUser = () => `alert-user-${++userSeq}`;

const UPSERT_FEATURE =
  'mutation($i: FeatureInput!) { upsertFeature(input: $i) { key kind alertThresholds } }';

async function mutate(query: string, variables: Record<string, unknown> = {}) {
  return dataOf(await server.gql(query, variables));
}
const upsertFeature = (input: Record<string, unknown>) => mutate(UPSERT_FEATURE, { i: input });
const upsertTier = (key: string, entitlements: Record<string, unknown>[]) =>
  mutate('mutation($i: TierInput!) { upsertTier(input: $i) { key } }', {
    i: { key, name: key, rank: 5, entitlements },
  });
const changeTier = (userId: string, tier: string) =>
  mutate('mutation($u: ID!, $t: ID!) { changeTier(userId: $u, tier: $t) { id } }', { u: userId, t: tier });

/** A user on `tier`, whose `calls` meter alerts at 50 % and 80 %. */
async function userOn(tier: string): Promise<string> {
  const id = newUser();
  await changeTier(id, tier);
  return id;
}

const use = (userId: string, amount = 1, feature = 'calls', extra: Record<string, unknown> = {}) =>
  recordUsage(server, meter, { userId, feature, amount, ...extra });

/** The usage events of a user (or organization): [type, threshold], oldest first. */
async function alerts(owner: { userId: string } | { organizationId: string }) {
  const events = await storedEvents(server, owner, 'type threshold');
  return events
    .filter((e) => e.type === 'USAGE_THRESHOLD_REACHED' || e.type === 'USAGE_LIMIT_REACHED')
    .map((e) => [e.type, e.threshold]);
}
const threshold = (t: number) => ['USAGE_THRESHOLD_REACHED', t];
const LIMIT_REACHED = ['USAGE_LIMIT_REACHED', null];

beforeAll(async () => {
  server = await startTestServer();
  await createTestCatalog(server);
  await upsertFeature({ key: 'calls', kind: 'METERED', alertThresholds: [80, 50] });
  await upsertTier('ten', [{ feature: 'calls', limit: 10 }]);
  await upsertTier('twenty', [{ feature: 'calls', limit: 20 }]);
  await upsertTier('three', [{ feature: 'calls', limit: 3 }]);
  await upsertTier('endless', [{ feature: 'calls' }]);
  // Counted in one pool per organization.
  await upsertFeature({ key: 'credits', kind: 'METERED', meterScope: 'ORGANIZATION', alertThresholds: [50] });
  await upsertTier('pool', [{ feature: 'credits', limit: 10 }]);
  meter = await server.token('metering-service', ['usage:write']);
});
afterAll(() => server.stop());

describe('thresholds crossed by usage', () => {
  it('1 to 10 one call at a time against a limit of 10 alerts exactly once at 50 % and once at 80 %', async () => {
    const id = await userOn('ten');
    const seen: unknown[][] = [];
    for (let i = 1; i <= 10; i += 1) {
      expect((await use(id)).allowed).toBe(true);
      seen.push(...(await alerts({ userId: id })).slice(seen.length));
      // Each alert is stored by the call that crossed its mark: 5 of 10, then 8 of 10.
      if (i === 4) expect(seen).toEqual([]);
      if (i === 5) expect(seen).toEqual([threshold(50)]);
      if (i === 8) expect(seen).toEqual([threshold(50), threshold(80)]);
    }
    expect(seen).toEqual([threshold(50), threshold(80), LIMIT_REACHED]);
    // Refused calls past the limit add nothing.
    expect((await use(id)).allowed).toBe(false);
    const events = await storedEvents(
      server,
      { userId: id },
      'type threshold user { id } feature { key } actor',
    );
    expect(events.filter((e) => e.type === 'USAGE_THRESHOLD_REACHED')).toEqual([
      {
        type: 'USAGE_THRESHOLD_REACHED',
        threshold: 50,
        user: { id },
        feature: { key: 'calls' },
        actor: 'metering-service',
      },
      {
        type: 'USAGE_THRESHOLD_REACHED',
        threshold: 80,
        user: { id },
        feature: { key: 'calls' },
        actor: 'metering-service',
      },
    ]);
  });

  it('40 concurrent calls against a limit of 20 alert exactly once per threshold', async () => {
    const id = await userOn('twenty');
    const results = await Promise.all(Array.from({ length: 40 }, () => use(id)));
    expect(results.filter((r) => r.allowed)).toHaveLength(20);
    expect(await alerts({ userId: id })).toEqual([threshold(50), threshold(80), LIMIT_REACHED]);
  });

  it('one call crossing both thresholds stores one event for each, lowest first', async () => {
    const id = await userOn('ten');
    await use(id, 9);
    expect(await alerts({ userId: id })).toEqual([threshold(50), threshold(80)]);
    await use(id, 1);
    expect(await alerts({ userId: id })).toEqual([threshold(50), threshold(80), LIMIT_REACHED]);
  });

  it('a call that reaches the limit at once stores every threshold and the limit', async () => {
    const id = await userOn('ten');
    await use(id, 10);
    expect(await alerts({ userId: id })).toEqual([threshold(50), threshold(80), LIMIT_REACHED]);
  });

  it('rounds the mark up: 50 % of 3 is reached at 2', async () => {
    const id = await userOn('three');
    await use(id);
    expect(await alerts({ userId: id })).toEqual([]);
    await use(id);
    expect(await alerts({ userId: id })).toEqual([threshold(50)]);
    await use(id);
    expect(await alerts({ userId: id })).toEqual([threshold(50), threshold(80), LIMIT_REACHED]);
  });

  it('a refused call alerts nothing', async () => {
    const id = await userOn('ten');
    await use(id, 4);
    expect((await use(id, 7)).allowed).toBe(false);
    expect(await alerts({ userId: id })).toEqual([]);
  });

  it('unlimited meters never alert, however much they count', async () => {
    const endless = await userOn('endless');
    await use(endless, 1_000_000_000);
    const unlimitedByOverride = await userOn('ten');
    await mutate(
      'mutation($u: ID!) { setOverride(input: { userId: $u, feature: "calls", effect: LIMIT }) { id } }',
      {
        u: unlimitedByOverride,
      },
    );
    for (let i = 0; i < 12; i += 1) expect((await use(unlimitedByOverride)).allowed).toBe(true);
    expect(await alerts({ userId: endless })).toEqual([]);
    expect(await alerts({ userId: unlimitedByOverride })).toEqual([]);
  });

  it('a meter whose feature has no thresholds raises only USAGE_LIMIT_REACHED', async () => {
    const id = newUser();
    await use(id, 100, 'api');
    expect(await alerts({ userId: id })).toEqual([LIMIT_REACHED]);
  });

  it('a grant raising the limit mid-period does not fire the same threshold twice', async () => {
    const id = await userOn('ten');
    await use(id, 5);
    expect(await alerts({ userId: id })).toEqual([threshold(50)]);
    // Limit 20: the 50 % mark moves to 10, the 80 % mark to 16.
    await mutate(
      'mutation($u: ID!) { grantEntitlement(input: { userId: $u, feature: "calls", limit: 10 }) { id } }',
      {
        u: id,
      },
    );
    await use(id, 5);
    expect(await alerts({ userId: id })).toEqual([threshold(50)]);
    await use(id, 6);
    expect(await alerts({ userId: id })).toEqual([threshold(50), threshold(80)]);
    await use(id, 4);
    expect(await alerts({ userId: id })).toEqual([threshold(50), threshold(80), LIMIT_REACHED]);
  });

  it('alerts against the limit a LIMIT override sets', async () => {
    const id = await userOn('ten');
    await mutate(
      'mutation($u: ID!) { setOverride(input: { userId: $u, feature: "calls", effect: LIMIT, limit: 4 }) { id } }',
      {
        u: id,
      },
    );
    await use(id, 2);
    expect(await alerts({ userId: id })).toEqual([threshold(50)]);
  });
});

describe('alerts as they reach their consumers', () => {
  it('are pushed on licenseEvents with their threshold, and on neither access subscription', async () => {
    // A user with no event before the subscriptions start: every push below is one the test caused.
    const id = newUser();
    const socket = openSocket(server.wsUrl, { connectionParams: { token: await server.token(id) } });
    try {
      const subscribe = (field: string) => socket.subscribe(`subscription { ${field} { type threshold } }`);
      const [all, granted, revoked] = ['licenseEvents', 'entitlementGranted', 'entitlementRevoked'].map(
        subscribe,
      );
      await untilSubscribed(() => server.live.feed.listenerCount, 3, [all, granted, revoked]);
      await changeTier(id, 'ten');
      await use(id, 10);
      // Markers: an upgrade and a downgrade.
      await changeTier(id, 'corp');
      await changeTier(id, 'ten');
      const types = async (subscription: typeof all, field: string, count: number) =>
        (await subscription.waitForData(count)).map((payload) =>
          Object.values(payload.data[field] as object),
        );
      expect(await types(all, 'licenseEvents', 6)).toEqual([
        ['TIER_CHANGED', null],
        ['USAGE_THRESHOLD_REACHED', 50],
        ['USAGE_THRESHOLD_REACHED', 80],
        ['USAGE_LIMIT_REACHED', null],
        ['TIER_CHANGED', null],
        ['TIER_CHANGED', null],
      ]);
      expect(await types(granted, 'entitlementGranted', 2)).toEqual([
        ['TIER_CHANGED', null],
        ['TIER_CHANGED', null],
      ]);
      expect(await types(revoked, 'entitlementRevoked', 1)).toEqual([['TIER_CHANGED', null]]);
    } finally {
      await socket.close();
    }
  });

  it('are not stored again when a call is replayed with its idempotency key', async () => {
    const id = await userOn('ten');
    const input = { userId: id, feature: 'calls', amount: 6, idempotencyKey: 'alerting-once' };
    await recordUsage(server, meter, input);
    await recordUsage(server, meter, input);
    expect(await alerts({ userId: id })).toEqual([threshold(50)]);
  });
});

describe('a pooled meter', () => {
  const organizationId = 'alerting-org';
  const members = ['pool-member-1', 'pool-member-2', 'pool-member-3'];

  beforeAll(async () => {
    await mutate(
      'mutation($o: ID!) { setOrganizationLicense(input: { organizationId: $o, tier: "pool" }) { id } }',
      {
        o: organizationId,
      },
    );
    for (const userId of members) {
      await mutate(
        'mutation($o: ID!, $u: ID!) { assignSeat(organizationId: $o, userId: $u) { assignedAt } }',
        {
          o: organizationId,
          u: userId,
        },
      );
    }
  });

  it('alerts once for the organization (user null) however many members race', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => use(members[i % members.length], 1, 'credits')),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    const events = await storedEvents(
      server,
      { organizationId },
      'type threshold user { id } organization { id } feature { key }',
    );
    expect(events.filter((e) => e.type.startsWith('USAGE_'))).toEqual([
      {
        type: 'USAGE_THRESHOLD_REACHED',
        threshold: 50,
        user: null,
        organization: { id: organizationId },
        feature: { key: 'credits' },
      },
      {
        type: 'USAGE_LIMIT_REACHED',
        threshold: null,
        user: null,
        organization: { id: organizationId },
        feature: { key: 'credits' },
      },
    ]);
    // No member has an alert of its own.
    for (const userId of members) {
      const own = await storedEvents(server, { userId }, 'type user { id }');
      expect(own.filter((e) => e.type.startsWith('USAGE_') && e.user !== null)).toEqual([]);
    }
  });
});

describeOnMysql('a pooled meter racing a limit change', () => {
  it('records a threshold that a racing call already recorded under the old limit neither twice nor with an error', async () => {
    // Limit 20 (tier 10, grant 10): the 50 % mark is 10.
    await mutate(
      'mutation { setOrganizationLicense(input: { organizationId: "race-org", tier: "pool" }) { id } }',
    );
    await mutate('mutation { assignSeat(organizationId: "race-org", userId: "race-member") { assignedAt } }');
    await mutate(
      'mutation { grantOrganizationEntitlement(input: { organizationId: "race-org", feature: "credits", limit: 10 }) { id } }',
    );
    await use('race-member', 1, 'credits');

    // Another member's call, under the limit before the grant (mark 5), holds the pool while this call reads
    // its state, then records the 50 % alert and commits: this call must see that row once it has the pool.
    const other = server.dataSource.createQueryRunner();
    await other.connect();
    try {
      await other.startTransaction();
      await other.query(
        "SELECT used FROM organization_usage_counters WHERE organization_id = 'race-org' AND feature_key = 'credits' FOR UPDATE",
      );
      const racing = use('race-member', 9, 'credits');
      // The call waits for the pool (in this database: other suites may share the server).
      await waitUntil(
        async () => {
          const transactions: { trx_state: string }[] = await server.dataSource.query(
            `SELECT t.trx_state FROM information_schema.innodb_trx t
             JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id WHERE p.db = DATABASE()`,
          );
          return transactions.some((transaction) => transaction.trx_state === 'LOCK WAIT');
        },
        // InnoDB refreshes innodb_trx only after 100 ms without a read of it.
        { what: 'the usage call waiting for the pool', intervalMs: 200 },
      );
      await other.manager.insert(UsageAlertRow, {
        ownerKind: 'ORGANIZATION',
        ownerId: 'race-org',
        featureKey: 'credits',
        periodStart: periodWindow('MONTH', new Date()).start,
        threshold: 50,
        reachedAt: new Date(),
      });
      await other.commitTransaction();
      expect(await racing).toMatchObject({ allowed: true, meter: { used: 10, limit: 20 } });
    } finally {
      await other.release();
    }
    expect(await alerts({ organizationId: 'race-org' })).toEqual([]);
  });
});

describe('alertThresholds on features', () => {
  it('are stored sorted, kept when omitted or null, and cleared with an empty list', async () => {
    expect(
      (await upsertFeature({ key: 'quota', kind: 'METERED', alertThresholds: [90, 10, 75] })).upsertFeature,
    ).toEqual({
      key: 'quota',
      kind: 'METERED',
      alertThresholds: [10, 75, 90],
    });
    const kept = await upsertFeature({ key: 'quota', kind: 'METERED', description: 'Quota' });
    expect(kept.upsertFeature.alertThresholds).toEqual([10, 75, 90]);
    const keptOnNull = await upsertFeature({ key: 'quota', kind: 'METERED', alertThresholds: null });
    expect(keptOnNull.upsertFeature.alertThresholds).toEqual([10, 75, 90]);
    const { features } = await mutate('{ features { key alertThresholds } }');
    expect(features.find((f: any) => f.key === 'quota').alertThresholds).toEqual([10, 75, 90]);
    const cleared = await upsertFeature({ key: 'quota', kind: 'METERED', alertThresholds: [] });
    expect(cleared.upsertFeature.alertThresholds).toEqual([]);
    // Features created without them have none.
    expect(features.find((f: any) => f.key === 'api').alertThresholds).toEqual([]);
  });

  it('allows ten thresholds from 1 to 99', async () => {
    const ten = [1, 10, 20, 30, 40, 50, 60, 70, 80, 99];
    expect(
      (await upsertFeature({ key: 'ten-marks', kind: 'METERED', alertThresholds: ten })).upsertFeature
        .alertThresholds,
    ).toEqual(ten);
  });

  it.each([
    ['0', { kind: 'METERED', alertThresholds: [0] }, 'alertThresholds.0'],
    ['100', { kind: 'METERED', alertThresholds: [50, 100] }, 'alertThresholds.1'],
    ['a negative one', { kind: 'METERED', alertThresholds: [-5] }, 'alertThresholds.0'],
    ['duplicates', { kind: 'METERED', alertThresholds: [50, 80, 50] }, 'alertThresholds'],
    [
      '11 values',
      { kind: 'METERED', alertThresholds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
      'alertThresholds',
    ],
    ['thresholds on a BOOLEAN feature', { kind: 'BOOLEAN', alertThresholds: [50] }, 'alertThresholds'],
    ['thresholds on a CONFIG feature', { kind: 'CONFIG', alertThresholds: [50] }, 'alertThresholds'],
  ])('refuses %s with BAD_USER_INPUT and changes nothing', async (_case, input, field) => {
    const before = await server.dataSource.manager.find(FeatureRow, { order: { key: 'ASC' } });
    for (const key of ['calls', 'never-created']) {
      const response = await server.gql(UPSERT_FEATURE, { i: { key, ...input } });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect(await server.dataSource.manager.find(FeatureRow, { order: { key: 'ASC' } })).toEqual(before);
  });

  it('keep a METERED feature from turning BOOLEAN until they are cleared', async () => {
    await upsertFeature({ key: 'turning', kind: 'METERED', alertThresholds: [50] });
    const refused = await server.gql(UPSERT_FEATURE, { i: { key: 'turning', kind: 'BOOLEAN' } });
    expect(refused.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'alertThresholds',
    });
    const turned = await upsertFeature({ key: 'turning', kind: 'BOOLEAN', alertThresholds: [] });
    expect(turned.upsertFeature).toEqual({ key: 'turning', kind: 'BOOLEAN', alertThresholds: [] });
  });

  it('apply from the next use on: a meter already past a mark when they are added alerts at later marks only', async () => {
    await upsertFeature({ key: 'late', kind: 'METERED' });
    await upsertTier('late-ten', [{ feature: 'late', limit: 10 }]);
    const id = await userOn('late-ten');
    await use(id, 6, 'late');
    await upsertFeature({ key: 'late', kind: 'METERED', alertThresholds: [50, 90] });
    await use(id, 3, 'late');
    expect(await alerts({ userId: id })).toEqual([threshold(90)]);
  });
});
