import { OrganizationUsageCounterRow } from '../../src/db/entities';
import { createTestCatalog } from '../testkit/catalog';
import { onMysql } from '../testkit/database';
import {
  assignSeats,
  createOrganizationCatalog,
  entity,
  grantToOrganization,
  organizationEvents,
  setOrganizationLicense,
  unassignSeat,
} from '../testkit/organizations';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

let server: TestServer;
let meterToken: string;
let seq = 0;
const newOrganization = () => `org-${++seq}`;
const newUser = () => `member-${++seq}`;

/** A new user with a seat in each of two new organizations, licensed with these tiers. */
async function seatedInTwo(tierA: string, tierB: string): Promise<{ a: string; b: string; u: string }> {
  const [a, b] = [newOrganization(), newOrganization()];
  const u = newUser();
  await setOrganizationLicense(server, a, tierA);
  await setOrganizationLicense(server, b, tierB);
  await assignSeats(server, a, [u]);
  await assignSeats(server, b, [u]);
  return { a, b, u };
}

const LICENSE_FIELDS =
  'license { status tier { key } seatLimit seatsUsed seatsAvailable revokedAt revokeReason updatedAt }';
const ENTITLEMENT_FIELDS =
  'feature { key } source limit used remaining value expiresAt organizations { id } grants { id }';

const organization = (id: string, fields = `id ${LICENSE_FIELDS} entitlements { ${ENTITLEMENT_FIELDS} }`) =>
  entity(server, 'Organization', id, fields);
const user = (id: string, fields = `id entitlements { ${ENTITLEMENT_FIELDS} }`) =>
  entity(server, 'User', id, fields);
const entitlementOf = (holder: any, key: string) =>
  holder.entitlements.find((e: any) => e.feature.key === key);
const featureKeys = (holder: any) => holder.entitlements.map((e: any) => e.feature.key);

async function mutate(query: string, variables?: Record<string, unknown>) {
  return dataOf(await server.gql(query, variables));
}

async function recordUsage(input: Record<string, unknown>) {
  return server.gqlAs(
    meterToken,
    `mutation($input: RecordUsageInput!) {
      recordUsage(input: $input) { allowed meter { used limit remaining organization { id } } }
    }`,
    { input },
  );
}

async function poolUsed(organizationId: string, featureKey = 'calls'): Promise<number> {
  const rows = await server.dataSource.manager.findBy(OrganizationUsageCounterRow, {
    organizationId,
    featureKey,
  });
  return rows.reduce((sum, row) => sum + Number(row.used), 0);
}

beforeAll(async () => {
  server = await startTestServer();
  await createTestCatalog(server);
  await createOrganizationCatalog(server);
  meterToken = await server.token('metering-service', ['usage:write']);
});
afterAll(() => server.stop());

describe('an organization without a record', () => {
  it('resolves with no license, no seats and no entitlements', async () => {
    expect(
      await organization(
        'never-licensed',
        `id ${LICENSE_FIELDS} seats { seats { assignedAt } endCursor hasMore } entitlements { feature { key } } usage { used }`,
      ),
    ).toEqual({
      id: 'never-licensed',
      license: null,
      seats: { seats: [], endCursor: null, hasMore: false },
      entitlements: [],
      usage: [],
    });
  });
});

describe('organization licenses', () => {
  it('are created by the first setOrganizationLicense, whose event has no fromTier', async () => {
    const id = newOrganization();
    const created = await mutate(
      `mutation($o: ID!) { setOrganizationLicense(input: { organizationId: $o, tier: "starter", seatLimit: 5, reason: "bought" }) {
        id ${LICENSE_FIELDS} entitlements { feature { key } source limit }
      } }`,
      { o: id },
    );
    expect(created.setOrganizationLicense).toMatchObject({
      id,
      license: {
        status: 'ACTIVE',
        tier: { key: 'starter' },
        seatLimit: 5,
        seatsUsed: 0,
        seatsAvailable: 5,
        revokedAt: null,
        revokeReason: null,
      },
      entitlements: [
        { feature: { key: 'api' }, source: 'TIER', limit: 50 },
        { feature: { key: 'calls' }, source: 'TIER', limit: 10 },
      ],
    });
    expect(
      await organizationEvents(
        server,
        id,
        'type user { id } organization { id } fromTier { key } toTier { key } actor reason',
      ),
    ).toEqual([
      {
        type: 'ORGANIZATION_LICENSE_CHANGED',
        user: null,
        organization: { id },
        fromTier: null,
        toTier: { key: 'starter' },
        actor: 'admin',
        reason: 'bought',
      },
    ]);
  });

  it('take a new tier and seat limit; an omitted seat limit is unlimited; setting the same records nothing', async () => {
    const id = newOrganization();
    await setOrganizationLicense(server, id, 'starter', 3);
    await setOrganizationLicense(server, id, 'business', 3);
    await setOrganizationLicense(server, id, 'business');
    await setOrganizationLicense(server, id, 'business', null);
    const { license } = await organization(id);
    expect(license).toMatchObject({ tier: { key: 'business' }, seatLimit: null, seatsAvailable: null });
    expect(await organizationEvents(server, id, 'type fromTier { key } toTier { key }')).toEqual([
      { type: 'ORGANIZATION_LICENSE_CHANGED', fromTier: null, toTier: { key: 'starter' } },
      { type: 'ORGANIZATION_LICENSE_CHANGED', fromTier: { key: 'starter' }, toTier: { key: 'business' } },
      { type: 'ORGANIZATION_LICENSE_CHANGED', fromTier: { key: 'business' }, toTier: { key: 'business' } },
    ]);
  });

  it('are revoked and restored with their seats kept; a second revoke records nothing', async () => {
    const id = newOrganization();
    const member = newUser();
    await setOrganizationLicense(server, id, 'business', 2);
    await assignSeats(server, id, [member]);
    const revoke = `mutation($o: ID!) { revokeOrganizationLicense(organizationId: $o, reason: "unpaid") { ${LICENSE_FIELDS} entitlements { feature { key } } } }`;
    const revoked = (await mutate(revoke, { o: id })).revokeOrganizationLicense;
    expect(revoked).toMatchObject({
      license: { status: 'REVOKED', revokeReason: 'unpaid', seatsUsed: 1 },
      entitlements: [],
    });
    expect(revoked.license.revokedAt).not.toBeNull();
    await mutate(revoke, { o: id });

    const restored = (
      await mutate(
        `mutation($o: ID!) { restoreOrganizationLicense(organizationId: $o, reason: "paid") { ${LICENSE_FIELDS} entitlements { feature { key } } } }`,
        { o: id },
      )
    ).restoreOrganizationLicense;
    expect(restored.license).toMatchObject({
      status: 'ACTIVE',
      revokedAt: null,
      revokeReason: null,
      seatsUsed: 1,
    });
    expect(restored.entitlements.map((e: any) => e.feature.key)).toEqual(['api', 'calls', 'sso', 'theme']);
    expect((await organizationEvents(server, id, 'type reason')).slice(-2)).toEqual([
      { type: 'ORGANIZATION_LICENSE_REVOKED', reason: 'unpaid' },
      { type: 'ORGANIZATION_LICENSE_RESTORED', reason: 'paid' },
    ]);
  });

  it('record the actor of every change', async () => {
    const ops = await server.token('ops-7', ['entitlements:write']);
    const as = async (query: string, variables: Record<string, unknown>) =>
      dataOf(await server.gqlAs(ops, query, variables));
    const o = newOrganization();
    const u = newUser();
    await as(
      'mutation($o: ID!) { setOrganizationLicense(input: { organizationId: $o, tier: "starter" }) { id } }',
      { o },
    );
    await as(
      'mutation($o: ID!) { setOrganizationLicense(input: { organizationId: $o, tier: "business" }) { id } }',
      { o },
    );
    await as('mutation($o: ID!, $u: ID!) { assignSeat(organizationId: $o, userId: $u) { assignedBy } }', {
      o,
      u,
    });
    const { grantOrganizationEntitlement } = await as(
      'mutation($o: ID!) { grantOrganizationEntitlement(input: { organizationId: $o, feature: "audit" }) { id grantedBy } }',
      { o },
    );
    expect(grantOrganizationEntitlement.grantedBy).toBe('ops-7');
    await as('mutation($g: ID!) { revokeEntitlement(grantId: $g) { id } }', {
      g: grantOrganizationEntitlement.id,
    });
    await as('mutation($o: ID!) { revokeOrganizationLicense(organizationId: $o, reason: "r") { id } }', {
      o,
    });
    await as('mutation($o: ID!) { restoreOrganizationLicense(organizationId: $o) { id } }', { o });
    await as('mutation($o: ID!, $u: ID!) { unassignSeat(organizationId: $o, userId: $u) { assignedAt } }', {
      o,
      u,
    });
    const events = await organizationEvents(server, o, 'type actor');
    expect(events.map((e) => e.type)).toEqual([
      'ORGANIZATION_LICENSE_CHANGED',
      'ORGANIZATION_LICENSE_CHANGED',
      'SEAT_ASSIGNED',
      'ENTITLEMENT_GRANTED',
      'ENTITLEMENT_REVOKED',
      'ORGANIZATION_LICENSE_REVOKED',
      'ORGANIZATION_LICENSE_RESTORED',
      'SEAT_UNASSIGNED',
    ]);
    expect(new Set(events.map((e) => e.actor))).toEqual(new Set(['ops-7']));
  });
});

describe('organization grants', () => {
  const GRANT =
    'mutation($input: GrantOrganizationEntitlementInput!) { grantOrganizationEntitlement(input: $input) { id user { id } organization { id } feature { key } limit grantedBy active } }';

  it('replay the first grant for the same idempotency key and input, and refuse other input with CONFLICT', async () => {
    const o = newOrganization();
    await setOrganizationLicense(server, o, 'starter');
    const input = { organizationId: o, feature: 'api', limit: 25, idempotencyKey: 'org-topup-1' };
    const first = dataOf(await server.gql(GRANT, { input })).grantOrganizationEntitlement;
    expect(first).toMatchObject({
      user: null,
      organization: { id: o },
      limit: 25,
      grantedBy: 'admin',
      active: true,
    });
    expect(dataOf(await server.gql(GRANT, { input })).grantOrganizationEntitlement).toEqual(first);
    const conflict = await server.gql(GRANT, { input: { ...input, limit: 26 } });
    expect(conflict.errors?.[0].extensions.code).toBe('CONFLICT');
    // The same key for another organization is other input too.
    const elsewhere = await server.gql(GRANT, { input: { ...input, organizationId: newOrganization() } });
    expect(elsewhere.errors?.[0].extensions.code).toBe('CONFLICT');
    expect(entitlementOf(await organization(o), 'api')).toMatchObject({
      limit: 75,
      grants: [{ id: first.id }],
    });
    expect((await organizationEvents(server, o)).map((e) => e.type)).toEqual([
      'ORGANIZATION_LICENSE_CHANGED',
      'ENTITLEMENT_GRANTED',
    ]);
  });

  it('refuse an unknown feature with NOT_FOUND and an expiry in the past with BAD_USER_INPUT', async () => {
    const o = newOrganization();
    await setOrganizationLicense(server, o, 'starter');
    const unknown = await server.gql(GRANT, { input: { organizationId: o, feature: 'warp-drive' } });
    expect(unknown.errors?.[0].extensions.code).toBe('NOT_FOUND');
    const past = await server.gql(GRANT, {
      input: { organizationId: o, feature: 'sso', expiresAt: '2001-01-01T00:00:00Z' },
    });
    expect(past.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
    expect(await organizationEvents(server, o)).toHaveLength(1);
  });
});

describe('seats', () => {
  it('are assigned by the caller, counted, and listed on the user', async () => {
    const o = newOrganization();
    const u = newUser();
    await setOrganizationLicense(server, o, 'starter', 2);
    const assigner = await server.token('seat-admin', ['entitlements:write']);
    const { assignSeat } = dataOf(
      await server.gqlAs(
        assigner,
        'mutation($o: ID!, $u: ID!) { assignSeat(organizationId: $o, userId: $u, reason: "new hire") { organization { id } user { id } assignedAt assignedBy } }',
        { o, u },
      ),
    );
    expect(assignSeat).toMatchObject({ organization: { id: o }, user: { id: u }, assignedBy: 'seat-admin' });
    expect((await organization(o)).license).toMatchObject({ seatsUsed: 1, seatsAvailable: 1 });
    expect(
      await user(
        u,
        'seats { organization { id license { tier { key } } } user { id } assignedAt assignedBy }',
      ),
    ).toEqual({
      seats: [{ ...assignSeat, organization: { id: o, license: { tier: { key: 'starter' } } } }],
    });
    const [event] = (
      await organizationEvents(server, o, 'type user { id } organization { id } actor reason')
    ).slice(-1);
    expect(event).toEqual({
      type: 'SEAT_ASSIGNED',
      user: { id: u },
      organization: { id: o },
      actor: 'seat-admin',
      reason: 'new hire',
    });
  });

  it('held already comes back unchanged, with no event', async () => {
    const o = newOrganization();
    const u = newUser();
    await setOrganizationLicense(server, o, 'starter', 1);
    const assign =
      'mutation($o: ID!, $u: ID!) { assignSeat(organizationId: $o, userId: $u) { assignedAt assignedBy } }';
    const first = (await mutate(assign, { o, u })).assignSeat;
    const again = dataOf(
      await server.gqlAs(await server.token('other-admin', ['entitlements:write']), assign, { o, u }),
    ).assignSeat;
    expect(again).toEqual(first);
    expect((await organization(o)).license.seatsUsed).toBe(1);
    expect((await organizationEvents(server, o)).map((e) => e.type)).toEqual([
      'ORGANIZATION_LICENSE_CHANGED',
      'SEAT_ASSIGNED',
    ]);
  });

  it('are paged oldest first with first and after', async () => {
    const o = newOrganization();
    const members = Array.from({ length: 5 }, newUser);
    await setOrganizationLicense(server, o, 'starter');
    await assignSeats(server, o, members);
    const page = async (first: number | null, after: string | null = null) =>
      dataOf(
        await server.gql(
          `query($reps: [_Any!]!, $first: Int, $after: ID) { _entities(representations: $reps) {
            ... on Organization { seats(first: $first, after: $after) { seats { user { id } } endCursor hasMore } }
          } }`,
          { reps: [{ __typename: 'Organization', id: o }], first, after },
        ),
      )._entities[0].seats;
    const one = await page(2);
    expect(one.seats.map((s: any) => s.user.id)).toEqual(members.slice(0, 2));
    expect(one.hasMore).toBe(true);
    const two = await page(2, one.endCursor);
    expect(two.seats.map((s: any) => s.user.id)).toEqual(members.slice(2, 4));
    expect(two.hasMore).toBe(true);
    const three = await page(2, two.endCursor);
    expect(three).toMatchObject({ seats: [{ user: { id: members[4] } }], hasMore: false });
    // Past the end the cursor stays, so a caller can poll from there.
    expect(await page(2, three.endCursor)).toEqual({ seats: [], endCursor: three.endCursor, hasMore: false });

    // first: null is the default page; a page size outside 1 to 1,000 or a foreign cursor is refused.
    expect((await page(null)).seats).toHaveLength(5);
    for (const [first, after, field] of [
      [0, null, 'first'],
      [1001, null, 'first'],
      [2, 'abc', 'after'],
    ] as const) {
      const response = await server.gql(
        'query($reps: [_Any!]!, $first: Int, $after: ID) { _entities(representations: $reps) { ... on Organization { seats(first: $first, after: $after) { hasMore } } } }',
        { reps: [{ __typename: 'Organization', id: o }], first, after },
      );
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }

    // An ended seat leaves the list; taken again, it is the newest.
    await unassignSeat(server, o, members[0]);
    await assignSeats(server, o, [members[0]]);
    const all = await page(10);
    expect(all.seats.map((s: any) => s.user.id)).toEqual([...members.slice(1), members[0]]);
    expect((await organization(o)).license.seatsUsed).toBe(5);
  });

  it('unassigned come back as they were, free the seat, and leave the user', async () => {
    const o = newOrganization();
    const u = newUser();
    await setOrganizationLicense(server, o, 'business', 1);
    await assignSeats(server, o, [u]);
    const { unassignSeat: seat } = await mutate(
      'mutation($o: ID!, $u: ID!) { unassignSeat(organizationId: $o, userId: $u, reason: "left") { user { id } organization { id } assignedBy } }',
      { o, u },
    );
    expect(seat).toEqual({ user: { id: u }, organization: { id: o }, assignedBy: 'admin' });
    expect((await organization(o)).license).toMatchObject({ seatsUsed: 0, seatsAvailable: 1 });
    expect(await user(u, 'seats { assignedAt } sso: hasEntitlement(feature: "sso")')).toEqual({
      seats: [],
      sso: false,
    });
    // The freed seat can be given to someone else.
    await assignSeats(server, o, [newUser()]);
  });

  it('beyond the limit are refused with SEAT_LIMIT_REACHED, changing nothing', async () => {
    const o = newOrganization();
    await setOrganizationLicense(server, o, 'starter', 1);
    await assignSeats(server, o, [newUser()]);
    const late = newUser();
    const refused = await server.gql(
      'mutation($o: ID!, $u: ID!) { assignSeat(organizationId: $o, userId: $u) { assignedAt } }',
      {
        o,
        u: late,
      },
    );
    expect(refused.errors?.[0].extensions.code).toBe('SEAT_LIMIT_REACHED');
    expect((await organization(o)).license.seatsUsed).toBe(1);
    expect(await user(late, 'seats { assignedAt }')).toEqual({ seats: [] });
    expect((await organizationEvents(server, o)).map((e) => e.type)).toEqual([
      'ORGANIZATION_LICENSE_CHANGED',
      'SEAT_ASSIGNED',
    ]);
  });
});

describe('bad input gets the contract error and changes nothing', () => {
  const ASSIGN = 'mutation($o: ID!, $u: ID!) { assignSeat(organizationId: $o, userId: $u) { assignedAt } }';
  const UNASSIGN =
    'mutation($o: ID!, $u: ID!) { unassignSeat(organizationId: $o, userId: $u) { assignedAt } }';
  const SET = 'mutation($input: OrganizationLicenseInput!) { setOrganizationLicense(input: $input) { id } }';

  it('an unknown organization: NOT_FOUND for seats, revoke, restore and organization grants', async () => {
    const o = newOrganization();
    const u = newUser();
    for (const [query, variables] of [
      [ASSIGN, { o, u }],
      [UNASSIGN, { o, u }],
      ['mutation($o: ID!) { revokeOrganizationLicense(organizationId: $o, reason: "r") { id } }', { o }],
      ['mutation($o: ID!) { restoreOrganizationLicense(organizationId: $o) { id } }', { o }],
      [
        'mutation($o: ID!) { grantOrganizationEntitlement(input: { organizationId: $o, feature: "sso" }) { id } }',
        { o },
      ],
    ] as const) {
      const response = await server.gql(query, variables);
      expect({ query, code: response.errors?.[0].extensions.code }).toEqual({ query, code: 'NOT_FOUND' });
    }
    expect(
      await organization(
        o,
        `${LICENSE_FIELDS} seats { seats { assignedAt } } entitlements { feature { key } }`,
      ),
    ).toEqual({
      license: null,
      seats: { seats: [] },
      entitlements: [],
    });
    expect(await user(u, 'seats { assignedAt }')).toEqual({ seats: [] });
    expect(await organizationEvents(server, o)).toEqual([]);
  });

  it('unassigning a seat the user does not hold: NOT_FOUND', async () => {
    const o = newOrganization();
    const u = newUser();
    await setOrganizationLicense(server, o, 'starter', 3);
    expect((await server.gql(UNASSIGN, { o, u })).errors?.[0].extensions.code).toBe('NOT_FOUND');
    await assignSeats(server, o, [u]);
    await unassignSeat(server, o, u);
    expect((await server.gql(UNASSIGN, { o, u })).errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect((await organization(o)).license.seatsUsed).toBe(0);
    expect((await organizationEvents(server, o)).map((e) => e.type)).toEqual([
      'ORGANIZATION_LICENSE_CHANGED',
      'SEAT_ASSIGNED',
      'SEAT_UNASSIGNED',
    ]);
  });

  it('an unknown tier: NOT_FOUND, for a new license and for a change', async () => {
    const fresh = newOrganization();
    const unknown = await server.gql(SET, { input: { organizationId: fresh, tier: 'platinum' } });
    expect(unknown.errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect((await organization(fresh)).license).toBeNull();
    expect(await organizationEvents(server, fresh)).toEqual([]);

    const existing = newOrganization();
    await setOrganizationLicense(server, existing, 'starter', 4);
    const before = await organization(existing);
    const change = await server.gql(SET, {
      input: { organizationId: existing, tier: 'platinum', seatLimit: 9 },
    });
    expect(change.errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect(await organization(existing)).toEqual(before);
    expect(await organizationEvents(server, existing)).toHaveLength(1);
  });

  it('a seat limit below the seats in use: BAD_USER_INPUT on seatLimit', async () => {
    const o = newOrganization();
    await setOrganizationLicense(server, o, 'starter', 3);
    await assignSeats(server, o, [newUser(), newUser()]);
    const before = await organization(o);
    const response = await server.gql(SET, { input: { organizationId: o, tier: 'business', seatLimit: 1 } });
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'seatLimit' });
    expect(await organization(o)).toEqual(before);
    expect(await organizationEvents(server, o)).toHaveLength(3);
    // Exactly the seats in use is fine.
    await setOrganizationLicense(server, o, 'starter', 2);
    expect((await organization(o)).license).toMatchObject({ seatLimit: 2, seatsAvailable: 0 });
  });

  it('a negative seat limit or limit, or a malformed id: BAD_USER_INPUT', async () => {
    const o = newOrganization();
    const negative = await server.gql(SET, { input: { organizationId: o, tier: 'starter', seatLimit: -1 } });
    expect(negative.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'seatLimit' });
    expect((await organization(o)).license).toBeNull();

    await setOrganizationLicense(server, o, 'starter', 2);
    const before = await organization(o);
    const lowered = await server.gql(SET, { input: { organizationId: o, tier: 'starter', seatLimit: -5 } });
    expect(lowered.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'seatLimit' });
    const grant = await server.gql(
      'mutation($o: ID!) { grantOrganizationEntitlement(input: { organizationId: $o, feature: "api", limit: -1 }) { id } }',
      { o },
    );
    expect(grant.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'limit' });
    const empty = await server.gql(SET, { input: { organizationId: '', tier: 'starter' } });
    expect(empty.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'organizationId' });
    const tooLong = await server.gql(ASSIGN, { o: 'o'.repeat(129), u: newUser() });
    expect(tooLong.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'organizationId' });
    expect(await organization(o)).toEqual(before);
    expect(await organizationEvents(server, o)).toHaveLength(1);
  });

  it('a pooled feature without organizationId when two organizations qualify: BAD_USER_INPUT on organizationId', async () => {
    const { a, b, u } = await seatedInTwo('business', 'business');
    const response = await recordUsage({ userId: u, feature: 'calls', amount: 3 });
    expect(response.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'organizationId',
    });
    expect([await poolUsed(a), await poolUsed(b)]).toEqual([0, 0]);
    expect((await organizationEvents(server, a)).map((e) => e.type)).not.toContain('USAGE_LIMIT_REACHED');
    const named = dataOf(
      await recordUsage({ userId: u, feature: 'calls', amount: 3, organizationId: b }),
    ).recordUsage;
    expect(named).toEqual({
      allowed: true,
      meter: { used: 3, limit: 30, remaining: 27, organization: { id: b } },
    });
    expect([await poolUsed(a), await poolUsed(b)]).toEqual([0, 3]);
  });
});

describe('effective entitlements of a seat holder', () => {
  it('add the organization tier to the own license, naming the organization', async () => {
    const o = newOrganization();
    const u = newUser();
    await setOrganizationLicense(server, o, 'business');
    await assignSeats(server, o, [u]);
    const holder = await user(u);
    expect(featureKeys(holder)).toEqual(['api', 'calls', 'seats', 'sso', 'theme']);
    expect(entitlementOf(holder, 'sso')).toMatchObject({
      source: 'ORGANIZATION',
      organizations: [{ id: o }],
      expiresAt: null,
    });
    // METERED, scope USER: the own tier's 100 plus the organization's 500, counted in the user's meter.
    expect(entitlementOf(holder, 'api')).toMatchObject({
      source: 'TIER',
      limit: 600,
      used: 0,
      remaining: 600,
      organizations: [{ id: o }],
    });
    // CONFIG: the highest-ranked contributing tier (business, 15) over the own basic (0).
    expect(entitlementOf(holder, 'theme')).toMatchObject({ source: 'TIER', value: { color: 'black' } });
    // seats comes from the own tier alone.
    expect(entitlementOf(holder, 'seats')).toMatchObject({ source: 'TIER', organizations: [] });
  });

  it('sum METERED limits over every organization, and organizationId narrows to the own license and one', async () => {
    const { a, b, u } = await seatedInTwo('business', 'starter');
    const fields = (scope: string) =>
      `entitlements${scope} { feature { key } limit organizations { id } } sso: hasEntitlement(feature: "sso"${scope ? ', organizationId: $o' : ''}) api: entitlement(feature: "api"${scope ? ', organizationId: $o' : ''}) { limit }`;
    const all = await user(u, fields(''));
    expect(entitlementOf(all, 'api')).toEqual({
      feature: { key: 'api' },
      limit: 650,
      organizations: [{ id: a }, { id: b }],
    });
    expect(all.sso).toBe(true);

    const narrowed = async (o: string) =>
      dataOf(
        await server.gql(
          `query($reps: [_Any!]!, $o: ID) { _entities(representations: $reps) { ... on User { ${fields('(organizationId: $o)')} } } }`,
          { reps: [{ __typename: 'User', id: u }], o },
        ),
      )._entities[0];
    const onlyB = await narrowed(b);
    expect(entitlementOf(onlyB, 'api')).toEqual({
      feature: { key: 'api' },
      limit: 150,
      organizations: [{ id: b }],
    });
    expect(onlyB.sso).toBe(false);
    expect(onlyB.api).toEqual({ limit: 150 });
    const onlyA = await narrowed(a);
    expect(onlyA.sso).toBe(true);
    expect(onlyA.api).toEqual({ limit: 600 });
    // An organization without the user's seat leaves the own license alone.
    expect((await narrowed('not-mine')).api).toEqual({ limit: 100 });
  });

  it("meters a user's own feature against the whole limit, whichever organization a call names", async () => {
    const { a, b, u } = await seatedInTwo('starter', 'starter');
    const record = async (amount: number, organizationId?: string) =>
      dataOf(
        await server.gql(
          'mutation($i: RecordUsageInput!) { recordUsage(input: $i) { allowed meter { used limit organization { id } } } }',
          { i: { userId: u, feature: 'api', amount, ...(organizationId ? { organizationId } : {}) } },
        ),
      ).recordUsage;
    const limitsReached = async () =>
      dataOf(
        await server.gql('query($u: ID) { licenseEvents(userId: $u) { events { type } } }', { u }),
      ).licenseEvents.events.filter((event: { type: string }) => event.type === 'USAGE_LIMIT_REACHED').length;
    // 100 of the user's own tier and 50 from each organization: 200, in the user's one meter.
    expect(await record(160, a)).toEqual({
      allowed: true,
      meter: { used: 160, limit: 200, organization: null },
    });
    expect(await limitsReached()).toBe(0);
    expect(await record(40, 'not-mine')).toEqual({
      allowed: true,
      meter: { used: 200, limit: 200, organization: null },
    });
    expect(await limitsReached()).toBe(1);
    expect((await record(1, b)).allowed).toBe(false);
  });

  it('lose what the organization gave when it is revoked, downgraded or the seat ends', async () => {
    const o = newOrganization();
    const u = newUser();
    await setOrganizationLicense(server, o, 'business');
    await assignSeats(server, o, [u]);
    const sso = async () => (await user(u, 'sso: hasEntitlement(feature: "sso")')).sso;
    expect(await sso()).toBe(true);
    await mutate('mutation($o: ID!) { revokeOrganizationLicense(organizationId: $o, reason: "r") { id } }', {
      o,
    });
    expect(featureKeys(await user(u))).toEqual(['api', 'seats', 'theme']);
    await mutate('mutation($o: ID!) { restoreOrganizationLicense(organizationId: $o) { id } }', { o });
    expect(await sso()).toBe(true);
    await setOrganizationLicense(server, o, 'starter');
    expect(await sso()).toBe(false);
    expect(entitlementOf(await user(u), 'api').limit).toBe(150);
    await unassignSeat(server, o, u);
    expect(entitlementOf(await user(u), 'api')).toMatchObject({ limit: 100, organizations: [] });
  });

  it('are nothing while the own license is revoked, seats or not', async () => {
    const o = newOrganization();
    const u = newUser();
    await setOrganizationLicense(server, o, 'business');
    await assignSeats(server, o, [u]);
    await mutate('mutation($u: ID!) { revokeLicense(userId: $u, reason: "fraud") { id } }', { u });
    expect(
      await user(u, 'entitlements { feature { key } } usage { used } seats { organization { id } }'),
    ).toEqual({
      entitlements: [],
      usage: [],
      seats: [{ organization: { id: o } }],
    });
    expect(dataOf(await recordUsage({ userId: u, feature: 'calls' })).recordUsage.allowed).toBe(false);
  });

  it("include the organization's grants until they are revoked, or expire at read time", async () => {
    const o = newOrganization();
    const u = newUser();
    await setOrganizationLicense(server, o, 'starter');
    await assignSeats(server, o, [u]);
    const expiresAt = new Date(Date.now() + 1500);
    const expiring = await grantToOrganization(server, {
      organizationId: o,
      feature: 'audit',
      expiresAt: expiresAt.toISOString(),
    });
    const lasting = await grantToOrganization(server, { organizationId: o, feature: 'sso', reason: 'deal' });
    const grant = dataOf(
      await server.gql(
        'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { entitlement(feature: "sso") { grants { id user { id } organization { id } reason active } } } } }',
        { reps: [{ __typename: 'User', id: u }] },
      ),
    )._entities[0].entitlement.grants;
    expect(grant).toEqual([
      { id: lasting, user: null, organization: { id: o }, reason: 'deal', active: true },
    ]);
    const holder = await user(u);
    expect(entitlementOf(holder, 'audit')).toMatchObject({
      source: 'ORGANIZATION',
      organizations: [{ id: o }],
      grants: [{ id: expiring }],
      expiresAt: expiresAt.toISOString(),
    });
    expect((await organization(o)).entitlements.map((e: any) => e.feature.key)).toEqual([
      'api',
      'audit',
      'calls',
      'sso',
    ]);

    await mutate('mutation($g: ID!) { revokeEntitlement(grantId: $g, reason: "over") { id active } }', {
      g: lasting,
    });
    expect(entitlementOf(await user(u), 'sso')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 10));
    expect(entitlementOf(await user(u), 'audit')).toBeUndefined();
    expect((await organization(o)).entitlements.map((e: any) => e.feature.key)).toEqual(['api', 'calls']);
  });

  it('keep the own grant as the source when the organization gives the same feature', async () => {
    const o = newOrganization();
    const u = newUser();
    await setOrganizationLicense(server, o, 'business');
    await assignSeats(server, o, [u]);
    await mutate('mutation($u: ID!) { grantEntitlement(input: { userId: $u, feature: "sso" }) { id } }', {
      u,
    });
    expect(entitlementOf(await user(u), 'sso')).toMatchObject({
      source: 'GRANT',
      organizations: [{ id: o }],
    });
  });
});

describe('pooled meters', () => {
  it("count every member's use in one pool, listed on each member's usage with the organization", async () => {
    const o = newOrganization();
    const [first, second] = [newUser(), newUser()];
    await setOrganizationLicense(server, o, 'starter');
    await assignSeats(server, o, [first, second]);
    await grantToOrganization(server, { organizationId: o, feature: 'calls', limit: 5 });
    expect(dataOf(await recordUsage({ userId: first, feature: 'calls', amount: 4 })).recordUsage).toEqual({
      allowed: true,
      meter: { used: 4, limit: 15, remaining: 11, organization: { id: o } },
    });
    expect(
      dataOf(await recordUsage({ userId: second, feature: 'calls', amount: 11 })).recordUsage.meter,
    ).toMatchObject({
      used: 15,
      remaining: 0,
    });
    const refused = dataOf(await recordUsage({ userId: first, feature: 'calls' })).recordUsage;
    expect(refused).toEqual({
      allowed: false,
      meter: { used: 15, limit: 15, remaining: 0, organization: { id: o } },
    });
    expect(await poolUsed(o)).toBe(15);

    const meters = await user(second, 'usage { feature { key } used limit remaining organization { id } }');
    expect(meters.usage).toEqual([
      { feature: { key: 'api' }, used: 0, limit: 150, remaining: 150, organization: null },
      { feature: { key: 'calls' }, used: 15, limit: 15, remaining: 0, organization: { id: o } },
      { feature: { key: 'seats' }, used: 0, limit: 1, remaining: 1, organization: null },
    ]);
    expect((await user(second, 'calls: hasEntitlement(feature: "calls")')).calls).toBe(false);
    expect((await organization(o, 'usage { feature { key } used limit organization { id } }')).usage).toEqual(
      [{ feature: { key: 'calls' }, used: 15, limit: 15, organization: { id: o } }],
    );
    const [reached] = (
      await organizationEvents(server, o, 'type user { id } organization { id } feature { key } actor')
    ).filter((e) => e.type === 'USAGE_LIMIT_REACHED');
    expect(reached).toEqual({
      type: 'USAGE_LIMIT_REACHED',
      user: null,
      organization: { id: o },
      feature: { key: 'calls' },
      actor: 'metering-service',
    });
  });

  it('list each pool a member may draw on, and count in the one named', async () => {
    const { a, b, u } = await seatedInTwo('starter', 'business');
    dataOf(await recordUsage({ userId: u, feature: 'calls', amount: 2, organizationId: a }));
    const calls = (await user(u, 'usage { feature { key } used limit organization { id } }')).usage.filter(
      (m: any) => m.feature.key === 'calls',
    );
    expect(calls).toEqual([
      { feature: { key: 'calls' }, used: 2, limit: 10, organization: { id: a } },
      { feature: { key: 'calls' }, used: 0, limit: 30, organization: { id: b } },
    ]);
    const narrowed = dataOf(
      await server.gql(
        'query($reps: [_Any!]!, $o: ID) { _entities(representations: $reps) { ... on User { usage(organizationId: $o) { feature { key } used organization { id } } } } }',
        { reps: [{ __typename: 'User', id: u }], o: b },
      ),
    )._entities[0].usage;
    expect(narrowed.filter((m: any) => m.feature.key === 'calls')).toEqual([
      { feature: { key: 'calls' }, used: 0, organization: { id: b } },
    ]);
    // A pool the user holds no seat in is not one it may draw on.
    const elsewhere = dataOf(
      await recordUsage({ userId: u, feature: 'calls', organizationId: 'not-mine' }),
    ).recordUsage;
    expect(elsewhere.allowed).toBe(false);
  });

  it('need no organizationId when only one of the organizations gives the feature', async () => {
    const [pooled, plain] = [newOrganization(), newOrganization()];
    const u = newUser();
    await setOrganizationLicense(server, pooled, 'business');
    await setOrganizationLicense(server, plain, 'team');
    await assignSeats(server, pooled, [u]);
    await assignSeats(server, plain, [u]);
    expect(dataOf(await recordUsage({ userId: u, feature: 'calls', amount: 2 })).recordUsage).toEqual({
      allowed: true,
      meter: { used: 2, limit: 30, remaining: 28, organization: { id: pooled } },
    });
  });

  it('are not filled by the own tier or grants: without a qualifying organization the answer is allowed false', async () => {
    const u = newUser();
    await mutate('mutation($u: ID!) { changeTier(userId: $u, tier: "business") { id } }', { u });
    await mutate(
      'mutation($u: ID!) { grantEntitlement(input: { userId: $u, feature: "calls", limit: 100 }) { id } }',
      { u },
    );
    const holder = await user(u, 'entitlements { feature { key } } usage { feature { key } }');
    expect(featureKeys(holder)).not.toContain('calls');
    expect(holder.usage.map((m: any) => m.feature.key)).not.toContain('calls');
    expect(dataOf(await recordUsage({ userId: u, feature: 'calls' })).recordUsage).toEqual({
      allowed: false,
      meter: { used: 0, limit: 0, remaining: 0, organization: null },
    });
  });

  // MySQL only: SQLite runs one transaction at a time, so no change can commit while a draw is judged.
  (onMysql ? it : it.skip)(
    'are judged against the limit an organization change commits while the draw waits for it',
    async () => {
      const o = newOrganization();
      const u = newUser();
      await setOrganizationLicense(server, o, 'starter');
      await assignSeats(server, o, [u]);
      const grantId = await grantToOrganization(server, { organizationId: o, feature: 'calls', limit: 5 });
      expect(dataOf(await recordUsage({ userId: u, feature: 'calls', amount: 12 })).recordUsage.allowed).toBe(
        true,
      );
      // The grant's revocation as revokeEntitlement makes it: under the organization's lock, held open here.
      const change = server.dataSource.createQueryRunner();
      await change.startTransaction();
      try {
        await change.query('SELECT * FROM organization_licenses WHERE organization_id = ? FOR UPDATE', [o]);
        await change.query('UPDATE grants SET revoked_at = ? WHERE id = ?', [new Date(), grantId]);
        const draw = recordUsage({ userId: u, feature: 'calls', amount: 1 });
        // Long enough for a draw that did not wait for the change to answer under the old limit of 15.
        await new Promise((resolve) => setTimeout(resolve, 500));
        await change.commitTransaction();
        expect(dataOf(await draw).recordUsage).toEqual({
          allowed: false,
          meter: { used: 12, limit: 10, remaining: 0, organization: { id: o } },
        });
      } finally {
        if (change.isTransactionActive) await change.rollbackTransaction();
        await change.release();
      }
      expect(await poolUsed(o)).toBe(12);
    },
  );

  it('stop while the organization is revoked', async () => {
    const o = newOrganization();
    const u = newUser();
    await setOrganizationLicense(server, o, 'starter');
    await assignSeats(server, o, [u]);
    await mutate('mutation($o: ID!) { revokeOrganizationLicense(organizationId: $o, reason: "r") { id } }', {
      o,
    });
    expect(dataOf(await recordUsage({ userId: u, feature: 'calls' })).recordUsage.allowed).toBe(false);
    expect(await poolUsed(o)).toBe(0);
  });
});

describe('access', () => {
  it('Organization fields need entitlements:read (or write)', async () => {
    const o = newOrganization();
    await setOrganizationLicense(server, o, 'starter');
    const query =
      'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Organization { id license { seatsUsed } } } }';
    const reps = [{ __typename: 'Organization', id: o }];
    for (const scopes of [[], ['usage:write']]) {
      const response = await server.gqlAs(await server.token(o, scopes), query, { reps });
      expect(response.errors?.[0].extensions.code).toBe('FORBIDDEN');
    }
    expect((await server.gqlAs(null, query, { reps })).errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    for (const scopes of [['entitlements:read'], ['entitlements:write']]) {
      const response = await server.gqlAs(await server.token('reader', scopes), query, { reps });
      expect(dataOf(response)._entities).toEqual([{ id: o, license: { seatsUsed: 0 } }]);
    }
  });

  it("a user reads its own seats, but its organizations' fields need entitlements:read", async () => {
    const o = newOrganization();
    const u = newUser();
    await setOrganizationLicense(server, o, 'starter');
    await assignSeats(server, o, [u]);
    const own = await server.token(u);
    const query =
      'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { seats { organization { id } assignedBy } } } }';
    expect(
      dataOf(await server.gqlAs(own, query, { reps: [{ __typename: 'User', id: u }] }))._entities,
    ).toEqual([{ seats: [{ organization: { id: o }, assignedBy: 'admin' }] }]);
    const tier = await server.gqlAs(
      own,
      'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { seats { organization { license { tier { key } } } } } } }',
      { reps: [{ __typename: 'User', id: u }] },
    );
    expect(tier.errors?.[0].extensions.code).toBe('FORBIDDEN');
  });

  it('organization changes need entitlements:write', async () => {
    const reader = await server.token('reader', ['entitlements:read']);
    const o = newOrganization();
    for (const query of [
      'mutation($o: ID!) { setOrganizationLicense(input: { organizationId: $o, tier: "starter" }) { id } }',
      'mutation($o: ID!) { assignSeat(organizationId: $o, userId: "x") { assignedAt } }',
      'mutation($o: ID!) { grantOrganizationEntitlement(input: { organizationId: $o, feature: "sso" }) { id } }',
    ]) {
      expect((await server.gqlAs(reader, query, { o })).errors?.[0].extensions.code).toBe('FORBIDDEN');
    }
    expect((await organization(o)).license).toBeNull();
  });

  it("an organization's events need entitlements:read; userId with organizationId is BAD_USER_INPUT", async () => {
    const o = newOrganization();
    await setOrganizationLicense(server, o, 'starter');
    const query =
      'query($o: ID, $u: ID) { licenseEvents(organizationId: $o, userId: $u) { events { type } } }';
    const forbidden = await server.gqlAs(await server.token(o), query, { o });
    expect(forbidden.errors?.[0].extensions.code).toBe('FORBIDDEN');
    const both = await server.gql(query, { o, u: 'someone' });
    expect(both.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'organizationId' });
    const reader = await server.token('reader', ['entitlements:read']);
    expect(dataOf(await server.gqlAs(reader, query, { o })).licenseEvents.events).toEqual([
      { type: 'ORGANIZATION_LICENSE_CHANGED' },
    ]);
  });
});
