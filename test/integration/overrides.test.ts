import { CatalogStore } from '../../src/db/catalog-store';
import { OverrideRow, UsageCounterRow } from '../../src/db/entities';
import { LicenseStore } from '../../src/db/license-store';
import { effectiveEntitlements } from '../../src/domain/effective';
import { createTestCatalog } from '../testkit/catalog';
import { onMysql } from '../testkit/database';
import { readUser, recordUsage, storedEvents } from '../testkit/licensing';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';
import type { TestSocket, TestSubscription } from '../testkit/subscriptions';
import { openSocket, untilSubscribed } from '../testkit/subscriptions';
import { waitUntil } from '../testkit/wait';

/** Rule V1 and the overrides' mutations, against the test catalog (default tier `basic`: api 100, seats 1, theme grey). */

let server: TestServer;
let meter: string;
let userSeq = 0;
const newUser = () => `override-user-${++userSeq}`;

const OVERRIDE_FIELDS =
  'id effect limit value expiresAt reason createdBy createdAt active user { id } feature { key }';
const ENTITLEMENT_FIELDS = `feature { key } source limit used remaining value expiresAt grants { id }
  override { id effect limit value }`;
const USER_FIELDS = `entitlements { ${ENTITLEMENT_FIELDS} } usage { feature { key } limit used remaining }
  overrides { id effect feature { key } }`;

const SET = `mutation($input: SetOverrideInput!) { setOverride(input: $input) { ${OVERRIDE_FIELDS} } }`;
const REMOVE = `mutation($u: ID!, $f: ID!, $r: String) { removeOverride(userId: $u, feature: $f, reason: $r) { ${OVERRIDE_FIELDS} } }`;

async function setOverride(input: Record<string, unknown>): Promise<any> {
  return dataOf(await server.gql(SET, { input })).setOverride;
}

async function removeOverride(userId: string, feature: string, reason?: string): Promise<any> {
  return dataOf(await server.gql(REMOVE, { u: userId, f: feature, r: reason })).removeOverride;
}

const user = (id: string, extra = '') => readUser(server, id, `${USER_FIELDS} ${extra}`);
const entitlementIn = (u: any, key: string) => u.entitlements.find((e: any) => e.feature.key === key);
const keysOf = (u: any) => u.entitlements.map((e: any) => e.feature.key);

async function mutate(query: string, variables: Record<string, unknown>) {
  return dataOf(await server.gql(query, variables));
}
const grant = (userId: string, feature: string, extra: Record<string, unknown> = {}) =>
  mutate('mutation($i: GrantEntitlementInput!) { grantEntitlement(input: $i) { id } }', {
    i: { userId, feature, ...extra },
  }).then((data) => data.grantEntitlement.id as string);
const changeTier = (userId: string, tier: string) =>
  mutate('mutation($u: ID!, $t: ID!) { changeTier(userId: $u, tier: $t) { id } }', { u: userId, t: tier });
const startTrial = (userId: string, tier: string) =>
  mutate(
    'mutation($u: ID!, $t: ID!, $e: DateTime!) { startTrial(userId: $u, tier: $t, endsAt: $e) { id } }',
    {
      u: userId,
      t: tier,
      e: new Date(Date.now() + 86_400_000).toISOString(),
    },
  );

async function upsertFeature(input: Record<string, unknown>) {
  await mutate('mutation($i: FeatureInput!) { upsertFeature(input: $i) { key } }', { i: input });
}

async function overrideRows(userId: string) {
  return server.dataSource.manager.findBy(OverrideRow, { userId });
}

beforeAll(async () => {
  server = await startTestServer();
  await createTestCatalog(server);
  // Features no tier gives, to show that LIMIT and VALUE make a feature present by themselves.
  await upsertFeature({ key: 'exports', kind: 'METERED' });
  await upsertFeature({ key: 'banner', kind: 'CONFIG' });
  // Counted in organization pools: its limit belongs to the organization, so LIMIT is refused on it.
  await upsertFeature({ key: 'credits', kind: 'METERED', meterScope: 'ORGANIZATION' });
  meter = await server.token('metering-service', ['usage:write']);
});
afterAll(() => server.stop());

describe('each effect against each feature kind', () => {
  it('DENY removes a BOOLEAN feature a grant gives', async () => {
    const id = newUser();
    await grant(id, 'sso');
    await setOverride({ userId: id, feature: 'sso', effect: 'DENY', reason: 'abuse' });
    const u = await user(
      id,
      'has: hasEntitlement(feature: "sso") one: entitlement(feature: "sso") { source }',
    );
    expect(keysOf(u)).toEqual(['api', 'seats', 'theme']);
    expect(u).toMatchObject({ has: false, one: null });
  });

  it('DENY removes a METERED feature: no entitlement, no meter, hasEntitlement false', async () => {
    const id = newUser();
    await setOverride({ userId: id, feature: 'api', effect: 'DENY' });
    const u = await user(id, 'has: hasEntitlement(feature: "api")');
    expect(keysOf(u)).toEqual(['seats', 'theme']);
    expect(u.usage.map((m: any) => m.feature.key)).toEqual(['seats']);
    expect(u.has).toBe(false);
  });

  it('DENY removes a CONFIG feature and its value', async () => {
    const id = newUser();
    await setOverride({ userId: id, feature: 'theme', effect: 'DENY' });
    expect(keysOf(await user(id))).toEqual(['api', 'seats']);
  });

  it('LIMIT raises a METERED limit to exactly its limit, whatever the tier and grants add up to', async () => {
    const id = newUser();
    const grantId = await grant(id, 'api', { limit: 50 });
    await recordUsage(server, meter, { userId: id, feature: 'api', amount: 30 });
    const set = await setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit: 500 });
    expect(entitlementIn(await user(id), 'api')).toEqual({
      feature: { key: 'api' },
      source: 'OVERRIDE',
      limit: 500,
      used: 30,
      remaining: 470,
      value: null,
      expiresAt: null,
      grants: [{ id: grantId }],
      override: { id: set.id, effect: 'LIMIT', limit: 500, value: null },
    });
  });

  it('LIMIT lowers a METERED limit, and null makes it unlimited', async () => {
    const id = newUser();
    await grant(id, 'api', { limit: 50 });
    await setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit: 20 });
    expect(entitlementIn(await user(id), 'api')).toMatchObject({
      source: 'OVERRIDE',
      limit: 20,
      remaining: 20,
    });
    await setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit: null });
    const u = await user(id);
    expect(entitlementIn(u, 'api')).toMatchObject({ source: 'OVERRIDE', limit: null, remaining: null });
    expect(u.usage.find((m: any) => m.feature.key === 'api')).toMatchObject({ limit: null, remaining: null });
  });

  it('LIMIT 0 leaves the feature listed but not usable', async () => {
    const id = newUser();
    await setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit: 0 });
    const u = await user(id, 'has: hasEntitlement(feature: "api")');
    expect(entitlementIn(u, 'api')).toMatchObject({ limit: 0, remaining: 0 });
    expect(u.has).toBe(false);
  });

  it('VALUE sets a CONFIG value over the tier and the newest grant', async () => {
    const id = newUser();
    await grant(id, 'theme', { value: { color: 'red' } });
    const set = await setOverride({
      userId: id,
      feature: 'theme',
      effect: 'VALUE',
      value: { color: 'black' },
    });
    expect(set).toMatchObject({ effect: 'VALUE', value: { color: 'black' }, limit: null, active: true });
    expect(entitlementIn(await user(id), 'theme')).toMatchObject({
      source: 'OVERRIDE',
      value: { color: 'black' },
      override: { id: set.id, effect: 'VALUE', value: { color: 'black' } },
    });
  });

  it('LIMIT and VALUE make a feature present that nothing else gives', async () => {
    const id = newUser();
    await setOverride({ userId: id, feature: 'exports', effect: 'LIMIT', limit: 7 });
    await setOverride({ userId: id, feature: 'banner', effect: 'VALUE', value: 'maintenance on Sunday' });
    const u = await user(id, 'has: hasEntitlement(feature: "exports")');
    expect(keysOf(u)).toEqual(['api', 'banner', 'exports', 'seats', 'theme']);
    expect(entitlementIn(u, 'exports')).toMatchObject({ source: 'OVERRIDE', limit: 7, used: 0, grants: [] });
    expect(entitlementIn(u, 'banner')).toMatchObject({ source: 'OVERRIDE', value: 'maintenance on Sunday' });
    expect(u.usage.find((m: any) => m.feature.key === 'exports')).toEqual({
      feature: { key: 'exports' },
      limit: 7,
      used: 0,
      remaining: 7,
    });
    expect(u.has).toBe(true);
  });

  it('DENY of a feature the user does not have is stored, and keeps it away when a grant comes', async () => {
    const id = newUser();
    await setOverride({ userId: id, feature: 'sso', effect: 'DENY' });
    await grant(id, 'sso');
    expect(keysOf(await user(id))).not.toContain('sso');
  });

  it.each([
    ['LIMIT on a BOOLEAN feature', { feature: 'sso', effect: 'LIMIT', limit: 5 }, 'effect'],
    ['LIMIT on a CONFIG feature', { feature: 'theme', effect: 'LIMIT', limit: 5 }, 'effect'],
    ['LIMIT on a pooled feature', { feature: 'credits', effect: 'LIMIT', limit: 5 }, 'effect'],
    ['VALUE on a BOOLEAN feature', { feature: 'sso', effect: 'VALUE', value: 1 }, 'effect'],
    ['VALUE on a METERED feature', { feature: 'api', effect: 'VALUE', value: 1 }, 'effect'],
    ['DENY with a limit', { feature: 'api', effect: 'DENY', limit: 5 }, 'limit'],
    ['DENY with a value', { feature: 'theme', effect: 'DENY', value: 'x' }, 'value'],
    ['LIMIT with a value', { feature: 'api', effect: 'LIMIT', limit: 5, value: 'x' }, 'value'],
    ['VALUE with a limit', { feature: 'theme', effect: 'VALUE', value: 'x', limit: 5 }, 'limit'],
    ['a negative limit', { feature: 'api', effect: 'LIMIT', limit: -1 }, 'limit'],
    [
      'an expiry in the past',
      { feature: 'api', effect: 'DENY', expiresAt: '2001-01-01T00:00:00Z' },
      'expiresAt',
    ],
    ['a reason too long', { feature: 'api', effect: 'DENY', reason: 'r'.repeat(1001) }, 'reason'],
    ['a malformed feature key', { feature: 'API', effect: 'DENY' }, 'feature'],
    ['an empty user id', { userId: '', feature: 'api', effect: 'DENY' }, 'userId'],
  ])('refuses %s with BAD_USER_INPUT and changes nothing', async (_case, input, field) => {
    const id = newUser();
    await setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit: 3 });
    const before = await user(id);
    const eventsBefore = await storedEvents(server, { userId: id });
    const response = await server.gql(SET, { input: { userId: id, ...input } });
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await user(id)).toEqual(before);
    expect(await overrideRows(id)).toHaveLength(1);
    expect(await storedEvents(server, { userId: id })).toEqual(eventsBefore);
  });

  it('answers NOT_FOUND for an unknown feature, storing nothing', async () => {
    const id = newUser();
    const response = await server.gql(SET, { input: { userId: id, feature: 'warp-drive', effect: 'DENY' } });
    expect(response.errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect(await overrideRows(id)).toEqual([]);
  });

  it('needs entitlements:write to set or remove; the user itself may read its overrides, no one else without entitlements:read', async () => {
    const id = newUser();
    await setOverride({ userId: id, feature: 'sso', effect: 'DENY' });
    const input = { userId: id, feature: 'api', effect: 'DENY' };
    for (const token of [await server.token(id), await server.token('reader', ['entitlements:read'])]) {
      expect((await server.gqlAs(token, SET, { input })).errors?.[0].extensions.code).toBe('FORBIDDEN');
      expect((await server.gqlAs(token, REMOVE, { u: id, f: 'sso' })).errors?.[0].extensions.code).toBe(
        'FORBIDDEN',
      );
    }
    expect((await server.gqlAs(null, SET, { input })).errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    const readOverrides = async (token: string) =>
      server.gqlAs(
        token,
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { overrides { effect feature { key } } } } }',
        { r: [{ __typename: 'User', id }] },
      );
    expect(dataOf(await readOverrides(await server.token(id)))._entities[0].overrides).toEqual([
      { effect: 'DENY', feature: { key: 'sso' } },
    ]);
    const someoneElse = await readOverrides(await server.token('someone-else'));
    expect(someoneElse.errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect(await overrideRows(id)).toHaveLength(1);
  });
});

describe('precedence over every other source', () => {
  const seatIn = async (organizationId: string, userId: string, tier: string) => {
    await mutate('mutation($i: OrganizationLicenseInput!) { setOrganizationLicense(input: $i) { id } }', {
      i: { organizationId, tier },
    });
    await mutate('mutation($o: ID!, $u: ID!) { assignSeat(organizationId: $o, userId: $u) { assignedAt } }', {
      o: organizationId,
      u: userId,
    });
  };

  it('DENY wins over the tier, a trial, grants and an organization seat together', async () => {
    const id = newUser();
    await changeTier(id, 'corp');
    await startTrial(id, 'corp');
    await grant(id, 'sso');
    await grant(id, 'api', { limit: 10 });
    await seatIn('deny-org', id, 'corp');
    const before = await user(id);
    expect(entitlementIn(before, 'sso').source).toBe('GRANT');
    await setOverride({ userId: id, feature: 'sso', effect: 'DENY' });
    await setOverride({ userId: id, feature: 'api', effect: 'DENY' });
    const after = await user(id, 'sso: hasEntitlement(feature: "sso") api: hasEntitlement(feature: "api")');
    expect(keysOf(after)).toEqual(['audit', 'seats']);
    expect(after).toMatchObject({ sso: false, api: false });
    // Also through one organization's view.
    const narrowed = await readUser(
      server,
      id,
      'entitlements(organizationId: "deny-org") { feature { key } } has: hasEntitlement(feature: "sso", organizationId: "deny-org")',
    );
    expect(narrowed.entitlements.map((e: any) => e.feature.key)).toEqual(['audit', 'seats']);
    expect(narrowed.has).toBe(false);
  });

  it('LIMIT replaces the sum of the trial tier, grants and a seat', async () => {
    const id = newUser();
    await startTrial(id, 'team');
    await grant(id, 'seats', { limit: 5 });
    await seatIn('limit-org', id, 'team');
    expect(entitlementIn(await user(id), 'seats')).toMatchObject({ source: 'GRANT', limit: 25 });
    await setOverride({ userId: id, feature: 'seats', effect: 'LIMIT', limit: 2 });
    expect(entitlementIn(await user(id), 'seats')).toMatchObject({ source: 'OVERRIDE', limit: 2 });
  });

  it('VALUE wins over a trial tier value and a seat', async () => {
    const id = newUser();
    await startTrial(id, 'team');
    await seatIn('value-org', id, 'team');
    await setOverride({ userId: id, feature: 'theme', effect: 'VALUE', value: 'plain' });
    expect(entitlementIn(await user(id), 'theme')).toMatchObject({ source: 'OVERRIDE', value: 'plain' });
  });

  it('gives nothing while the personal license is revoked, overrides included, and all again once restored', async () => {
    const id = newUser();
    await setOverride({ userId: id, feature: 'exports', effect: 'LIMIT', limit: 5 });
    await setOverride({ userId: id, feature: 'banner', effect: 'VALUE', value: 'hi' });
    await mutate('mutation($u: ID!) { revokeLicense(userId: $u, reason: "fraud") { id } }', { u: id });
    const revoked = await user(id, 'has: hasEntitlement(feature: "exports")');
    expect(revoked).toMatchObject({ entitlements: [], usage: [], has: false });
    expect(await recordUsage(server, meter, { userId: id, feature: 'exports' })).toMatchObject({
      allowed: false,
    });
    // The overrides still stand; they apply again with the license.
    expect(revoked.overrides).toHaveLength(2);
    await mutate('mutation($u: ID!) { restoreLicense(userId: $u) { id } }', { u: id });
    expect(keysOf(await user(id))).toEqual(['api', 'banner', 'exports', 'seats', 'theme']);
  });
});

describe('setOverride and removeOverride', () => {
  it('replaces the active override of the feature with exactly one OVERRIDE_SET, and lists the active ones only', async () => {
    const id = newUser();
    const first = await setOverride({
      userId: id,
      feature: 'api',
      effect: 'LIMIT',
      limit: 10,
      reason: 'trial',
    });
    expect(first).toMatchObject({
      effect: 'LIMIT',
      limit: 10,
      reason: 'trial',
      createdBy: 'admin',
      active: true,
      expiresAt: null,
      user: { id },
      feature: { key: 'api' },
    });
    const second = await setOverride({ userId: id, feature: 'api', effect: 'DENY', reason: 'abuse' });
    const third = await setOverride({ userId: id, feature: 'theme', effect: 'VALUE', value: 'x' });
    const u = await user(id);
    const byFeature = [...u.overrides].sort((a: any, b: any) => (a.feature.key < b.feature.key ? -1 : 1));
    expect(byFeature).toEqual([
      { id: second.id, effect: 'DENY', feature: { key: 'api' } },
      { id: third.id, effect: 'VALUE', feature: { key: 'theme' } },
    ]);
    expect(keysOf(u)).not.toContain('api');

    const events = await storedEvents(
      server,
      { userId: id },
      'type user { id } feature { key } grant { id } actor reason',
    );
    expect(events).toEqual([
      {
        type: 'OVERRIDE_SET',
        user: { id },
        feature: { key: 'api' },
        grant: null,
        actor: 'admin',
        reason: 'trial',
      },
      {
        type: 'OVERRIDE_SET',
        user: { id },
        feature: { key: 'api' },
        grant: null,
        actor: 'admin',
        reason: 'abuse',
      },
      {
        type: 'OVERRIDE_SET',
        user: { id },
        feature: { key: 'theme' },
        grant: null,
        actor: 'admin',
        reason: null,
      },
    ]);
    // Kept for the audit trail: the replaced one has ended.
    const rows = await overrideRows(id);
    expect(rows.find((row) => row.id === first.id)?.endedAt).not.toBeNull();
  });

  it('removes the active override: access comes back, OVERRIDE_REMOVED with the reason, then NOT_FOUND', async () => {
    const id = newUser();
    const set = await setOverride({ userId: id, feature: 'api', effect: 'DENY' });
    const removed = await removeOverride(id, 'api', 'appeal granted');
    expect(removed).toMatchObject({ id: set.id, effect: 'DENY', active: false });
    const u = await user(id);
    expect(entitlementIn(u, 'api')).toMatchObject({ source: 'TIER', limit: 100, override: null });
    expect(u.overrides).toEqual([]);

    const again = await server.gql(REMOVE, { u: id, f: 'api' });
    expect(again.errors?.[0].extensions.code).toBe('NOT_FOUND');
    const never = await server.gql(REMOVE, { u: id, f: 'sso' });
    expect(never.errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect(await storedEvents(server, { userId: id }, 'type feature { key } reason')).toEqual([
      { type: 'OVERRIDE_SET', feature: { key: 'api' }, reason: null },
      { type: 'OVERRIDE_REMOVED', feature: { key: 'api' }, reason: 'appeal granted' },
    ]);
  });

  it('serializes concurrent sets of one feature: one stays active, each stored its event', async () => {
    const id = newUser();
    const limits = Array.from({ length: 10 }, (_, i) => i + 1);
    const set = await Promise.all(
      limits.map((limit) => setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit })),
    );
    const u = await user(id);
    expect(u.overrides).toHaveLength(1);
    const winner = set.find((o) => o.id === u.overrides[0].id);
    expect(entitlementIn(u, 'api').limit).toBe(winner.limit);
    expect(await storedEvents(server, { userId: id })).toHaveLength(10);
    expect((await overrideRows(id)).filter((row) => row.endedAt === null)).toHaveLength(1);
  });
});

describe('an override that runs out while a change waits', () => {
  /** Sends `request` while another transaction holds the user's license, which it lets go after `holdMs`. */
  async function whileHeld(userId: string, holdMs: number, request: () => Promise<any>): Promise<any> {
    const holder = server.dataSource.createQueryRunner();
    await holder.startTransaction();
    try {
      await holder.query('SELECT * FROM licenses WHERE user_id = ? FOR UPDATE', [userId]);
      const answer = request();
      await new Promise((resolve) => setTimeout(resolve, holdMs));
      await holder.commitTransaction();
      return await answer;
    } finally {
      if (holder.isTransactionActive) await holder.rollbackTransaction();
      await holder.release();
    }
  }

  (onMysql ? it : it.skip)(
    "is expired, not removed, when removeOverride got the license's lock after its end",
    async () => {
      const id = newUser();
      const expiresAt = new Date(Date.now() + 600);
      await setOverride({ userId: id, feature: 'api', effect: 'DENY', expiresAt: expiresAt.toISOString() });
      const removal = await whileHeld(id, expiresAt.getTime() - Date.now() + 300, () =>
        server.gql(REMOVE, { u: id, f: 'api' }),
      );
      expect(removal.errors?.[0].extensions.code).toBe('NOT_FOUND');
      await waitUntil(async () => (await storedEvents(server, { userId: id })).length === 2, {
        what: 'OVERRIDE_EXPIRED',
      });
      expect((await storedEvents(server, { userId: id })).map((e) => e.type)).toEqual([
        'OVERRIDE_SET',
        'OVERRIDE_EXPIRED',
      ]);
    },
  );

  (onMysql ? it : it.skip)(
    'is not stored when it would have ended by the time setOverride got the lock: BAD_USER_INPUT',
    async () => {
      const id = newUser();
      await setOverride({ userId: id, feature: 'sso', effect: 'DENY' });
      const expiresAt = new Date(Date.now() + 300);
      const set = await whileHeld(id, 600, () =>
        server.gql(SET, {
          input: { userId: id, feature: 'api', effect: 'DENY', expiresAt: expiresAt.toISOString() },
        }),
      );
      expect(set.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
      expect((await overrideRows(id)).map((row) => row.featureKey)).toEqual(['sso']);
      expect((await storedEvents(server, { userId: id })).map((e) => e.type)).toEqual(['OVERRIDE_SET']);
    },
  );
});

describe('expiry at read time', () => {
  it('ends an override at expiresAt to the millisecond, with nothing run in between', async () => {
    const id = newUser();
    const expiresAt = new Date(Date.now() + 60_000 + 437);
    const set = await setOverride({
      userId: id,
      feature: 'api',
      effect: 'DENY',
      expiresAt: expiresAt.toISOString(),
    });
    expect(set.expiresAt).toBe(expiresAt.toISOString());
    // The stored state read as the replicas read it, at the last millisecond and at the first one after.
    const store = new LicenseStore(server.db, new CatalogStore(server.db), 'basic');
    const apiAt = async (now: Date) => {
      const state = (await store.states(server.db.manager, [id], now)).get(id)!;
      return effectiveEntitlements(state, now).find((e) => e.feature.key === 'api');
    };
    expect(await apiAt(new Date(expiresAt.getTime() - 1))).toBeUndefined();
    expect(await apiAt(expiresAt)).toMatchObject({ source: 'TIER', limit: 100 });
  });

  it('gives the earlier access back once a short override runs out, and stops listing it', async () => {
    const id = newUser();
    const expiresAt = new Date(Date.now() + 700).toISOString();
    await setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit: 1, expiresAt });
    await setOverride({ userId: id, feature: 'exports', effect: 'LIMIT', limit: 1, expiresAt });
    const during = await user(id);
    // The tier goes on giving api after the override: only exports ends with it.
    expect(entitlementIn(during, 'api')).toMatchObject({ limit: 1, expiresAt: null });
    expect(entitlementIn(during, 'exports')).toMatchObject({ limit: 1, expiresAt });
    await new Promise((resolve) => setTimeout(resolve, new Date(expiresAt).getTime() - Date.now() + 10));
    const after = await user(id);
    expect(entitlementIn(after, 'api')).toMatchObject({ source: 'TIER', limit: 100, override: null });
    expect(entitlementIn(after, 'exports')).toBeUndefined();
    expect(after.overrides).toEqual([]);
  });
});

describe('recordUsage with overrides', () => {
  const storedUsed = async (userId: string, featureKey: string) =>
    (await server.dataSource.manager.findBy(UsageCounterRow, { userId, featureKey })).reduce(
      (sum, row) => sum + Number(row.used),
      0,
    );

  it('is not allowed under DENY, and stores nothing', async () => {
    const id = newUser();
    await changeTier(id, 'corp');
    await setOverride({ userId: id, feature: 'api', effect: 'DENY' });
    expect(await recordUsage(server, meter, { userId: id, feature: 'api' })).toEqual({
      allowed: false,
      meter: { used: 0, limit: 0, remaining: 0 },
    });
    expect(await storedUsed(id, 'api')).toBe(0);
  });

  it('counts against exactly the LIMIT, raised or lowered, and on a feature only the override gives', async () => {
    const id = newUser();
    await setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit: 150 });
    expect(await recordUsage(server, meter, { userId: id, feature: 'api', amount: 150 })).toMatchObject({
      allowed: true,
      meter: { used: 150, limit: 150, remaining: 0 },
    });
    await setOverride({ userId: id, feature: 'seats', effect: 'LIMIT', limit: 0 });
    expect((await recordUsage(server, meter, { userId: id, feature: 'seats' })).allowed).toBe(false);
    await setOverride({ userId: id, feature: 'exports', effect: 'LIMIT', limit: 2 });
    const results = [];
    for (let i = 0; i < 3; i += 1)
      results.push(await recordUsage(server, meter, { userId: id, feature: 'exports' }));
    expect(results.map((r) => r.allowed)).toEqual([true, true, false]);
    expect(await storedUsed(id, 'exports')).toBe(2);
  });

  it('50 concurrent calls against a LIMIT of 20 allow exactly 20', async () => {
    const id = newUser();
    await grant(id, 'api', { limit: 1000 });
    await setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit: 20 });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => recordUsage(server, meter, { userId: id, feature: 'api' })),
    );
    const allowed = results.filter((r) => r.allowed);
    expect(allowed).toHaveLength(20);
    expect(allowed.map((r) => r.meter.used).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(await storedUsed(id, 'api')).toBe(20);
    expect(
      (await storedEvents(server, { userId: id })).filter((e) => e.type === 'USAGE_LIMIT_REACHED'),
    ).toHaveLength(1);
  });

  it('applies a LIMIT set while calls are running from its commit on, never past the limit in force', async () => {
    const id = newUser();
    const calls = Array.from({ length: 60 }, (_, i) =>
      i === 20
        ? setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit: 30 }).then(() => null)
        : recordUsage(server, meter, { userId: id, feature: 'api' }),
    );
    const allowed = (await Promise.all(calls)).filter((r) => r?.allowed).map((r) => r!);
    for (const result of allowed) {
      expect([100, 30]).toContain(result.meter.limit);
      expect(result.meter.used).toBeLessThanOrEqual(result.meter.limit as number);
    }
    expect(await storedUsed(id, 'api')).toBe(allowed.length);
    expect(entitlementIn(await user(id), 'api')).toMatchObject({ source: 'OVERRIDE', limit: 30 });
  });
});

describe('pushes', () => {
  const sockets: TestSocket[] = [];
  const EVENT = 'type feature { key } actor occurredAt';
  const subscribeTo = (field: string, userId: string): TestSubscription => {
    const socket = openSocket(server.wsUrl, { connectionParams: { authorization: `Bearer ${reader}` } });
    sockets.push(socket);
    return socket.subscribe(`subscription($u: ID) { ${field}(userId: $u) { ${EVENT} } }`, { u: userId });
  };
  /** Opens licenseEvents, entitlementGranted and entitlementRevoked for the user, and waits until the server holds them. */
  const watch = async (userId: string) => {
    const all = subscribeTo('licenseEvents', userId);
    const granted = subscribeTo('entitlementGranted', userId);
    const revoked = subscribeTo('entitlementRevoked', userId);
    await untilSubscribed(() => server.live.feed.listenerCount, 3, [all, granted, revoked]);
    return { all, granted, revoked };
  };
  const pushed = async (subscription: TestSubscription, field: string, count: number, timeoutMs?: number) =>
    (await subscription.waitForData(count, timeoutMs)).map((payload) => {
      const { type, feature } = payload.data[field];
      return [type, feature?.key ?? null];
    });
  let reader: string;

  beforeAll(async () => {
    reader = await server.token('audit-service', ['entitlements:read']);
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    await untilSubscribed(() => server.live.feed.listenerCount, 0);
  });

  it('pushes a DENY and a lowered LIMIT on entitlementRevoked, a removal and a raised LIMIT on entitlementGranted, a VALUE on licenseEvents only', async () => {
    const id = newUser();
    const { all, granted, revoked } = await watch(id);
    await setOverride({ userId: id, feature: 'api', effect: 'DENY' });
    await removeOverride(id, 'api');
    await setOverride({ userId: id, feature: 'theme', effect: 'VALUE', value: 'dark' });
    await setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit: 10 });
    await setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit: 500 });
    // A DENY of what the user does not have changes no access.
    await setOverride({ userId: id, feature: 'sso', effect: 'DENY' });
    // Markers: the very next push on each after the overrides.
    await mutate('mutation($u: ID!) { revokeLicense(userId: $u, reason: "end of test") { id } }', { u: id });
    await mutate('mutation($u: ID!) { restoreLicense(userId: $u) { id } }', { u: id });

    expect(await pushed(revoked, 'entitlementRevoked', 3)).toEqual([
      ['OVERRIDE_SET', 'api'],
      ['OVERRIDE_SET', 'api'],
      ['LICENSE_REVOKED', null],
    ]);
    expect(await pushed(granted, 'entitlementGranted', 3)).toEqual([
      ['OVERRIDE_REMOVED', 'api'],
      ['OVERRIDE_SET', 'api'],
      ['LICENSE_RESTORED', null],
    ]);
    expect(await pushed(all, 'licenseEvents', 8)).toEqual([
      ['OVERRIDE_SET', 'api'],
      ['OVERRIDE_REMOVED', 'api'],
      ['OVERRIDE_SET', 'theme'],
      ['OVERRIDE_SET', 'api'],
      ['OVERRIDE_SET', 'api'],
      ['OVERRIDE_SET', 'sso'],
      ['LICENSE_REVOKED', null],
      ['LICENSE_RESTORED', null],
    ]);
  });

  it('stores and pushes OVERRIDE_EXPIRED within 2 seconds, once: on entitlementGranted when access comes back', async () => {
    const id = newUser();
    const { all, granted, revoked } = await watch(id);
    const expiresAt = new Date(Date.now() + 800);
    await setOverride({ userId: id, feature: 'api', effect: 'DENY', expiresAt: expiresAt.toISOString() });
    expect(await pushed(granted, 'entitlementGranted', 1, 4000)).toEqual([['OVERRIDE_EXPIRED', 'api']]);
    expect(Date.now() - expiresAt.getTime()).toBeLessThan(2000);
    expect(await pushed(revoked, 'entitlementRevoked', 1)).toEqual([['OVERRIDE_SET', 'api']]);
    // The sweeper looks again (every 500 ms) before the test checks that it did not record it twice.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(granted.received).toHaveLength(1);
    expect(all.received).toHaveLength(2);
    const stored = await storedEvents(server, { userId: id }, 'type feature { key } actor occurredAt');
    expect(stored).toEqual([
      { type: 'OVERRIDE_SET', feature: { key: 'api' }, actor: 'admin', occurredAt: expect.any(String) },
      {
        type: 'OVERRIDE_EXPIRED',
        feature: { key: 'api' },
        actor: 'system',
        occurredAt: expiresAt.toISOString(),
      },
    ]);
  });

  it('pushes the expiry of a raised LIMIT on entitlementRevoked, and of a VALUE on licenseEvents only', async () => {
    const id = newUser();
    const { all, granted, revoked } = await watch(id);
    const expiresAt = new Date(Date.now() + 600).toISOString();
    await setOverride({ userId: id, feature: 'theme', effect: 'VALUE', value: 'dark', expiresAt });
    await setOverride({ userId: id, feature: 'api', effect: 'LIMIT', limit: 500, expiresAt });
    const lost = await pushed(revoked, 'entitlementRevoked', 1, 4000);
    expect(lost).toEqual([['OVERRIDE_EXPIRED', 'api']]);
    const events = await pushed(all, 'licenseEvents', 4, 4000);
    expect(events.slice(2).sort()).toEqual([
      ['OVERRIDE_EXPIRED', 'api'],
      ['OVERRIDE_EXPIRED', 'theme'],
    ]);
    // entitlementGranted had the raise only; the next thing it gets is a marker.
    await mutate('mutation($u: ID!) { revokeLicense(userId: $u, reason: "r") { id } }', { u: id });
    await mutate('mutation($u: ID!) { restoreLicense(userId: $u) { id } }', { u: id });
    expect(await pushed(granted, 'entitlementGranted', 2)).toEqual([
      ['OVERRIDE_SET', 'api'],
      ['LICENSE_RESTORED', null],
    ]);
  });

  it('records no expiry for an override removed or replaced before it ran out', async () => {
    const id = newUser();
    const expiresAt = new Date(Date.now() + 500).toISOString();
    await setOverride({ userId: id, feature: 'api', effect: 'DENY', expiresAt });
    await removeOverride(id, 'api');
    await setOverride({ userId: id, feature: 'sso', effect: 'DENY', expiresAt });
    await setOverride({ userId: id, feature: 'sso', effect: 'DENY' });
    // A sweep as of after the old end, instead of waiting for the sweeper to get there.
    await server.services.expiries.recordDue(new Date(Date.parse(expiresAt) + 1000));
    expect((await storedEvents(server, { userId: id })).map((e) => e.type)).toEqual([
      'OVERRIDE_SET',
      'OVERRIDE_REMOVED',
      'OVERRIDE_SET',
      'OVERRIDE_SET',
    ]);
  });
});
