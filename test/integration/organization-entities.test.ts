import { randomUUID } from 'node:crypto';

import {
  GrantRow,
  OrganizationLicenseRow,
  OrganizationUsageCounterRow,
  SeatRow,
} from '../../src/db/entities';
import { createTestCatalog } from '../testkit/catalog';
import { createOrganizationCatalog } from '../testkit/organizations';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

const USER_QUERY = `query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on User {
      id
      tier { key }
      seats { organization { id license { status tier { key } seatsUsed } } assignedBy }
      entitlements { feature { key } source limit used remaining value organizations { id } grants { id } expiresAt }
      sso: hasEntitlement(feature: "sso")
      usage { feature { key } used limit organization { id } }
    }
  }
}`;
const ORGANIZATION_QUERY = `query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on Organization {
      id
      license { status tier { key } seatLimit seatsUsed seatsAvailable }
      entitlements { feature { key } limit grants { id } }
      usage { feature { key } used limit }
    }
  }
}`;

const ORGANIZATIONS = 30;
const USERS = 1000;
const TIERS = ['business', 'starter', 'team'];
const organizationId = (k: number) => `bulk-org-${k}`;
const userId = (i: number) => `bulk-member-${i}`;
/** User i holds seats in i % 4 organizations: i % 30 and the next ones. */
const seatsOf = (i: number) => Array.from({ length: i % 4 }, (_, n) => (i + n) % ORGANIZATIONS);

let server: TestServer;

/** Statements the server sends to the database while answering one request. */
async function statementsFor(
  query: string,
  reps: { __typename: string; id: string }[],
  variables: Record<string, unknown> = {},
) {
  const before = server.queries.count;
  const entities = dataOf(await server.gql(query, { reps, ...variables }))._entities;
  return { count: server.queries.count - before, entities };
}
const users = (ids: number[]) => ids.map((i) => ({ __typename: 'User', id: userId(i) }));
const organizations = (ids: number[]) =>
  ids.map((k) => ({ __typename: 'Organization', id: organizationId(k) }));

beforeAll(async () => {
  // The event feed and the expiry sweeper query on timers; counted statements must be the request's alone.
  server = await startTestServer({ backgroundJobs: false });
  await createTestCatalog(server);
  await createOrganizationCatalog(server);
  const now = new Date();
  const { manager } = server.dataSource;
  const seatRows = Array.from({ length: USERS }, (_, i) =>
    seatsOf(i).map((k) => ({
      organizationId: organizationId(k),
      userId: userId(i),
      assignedAt: now,
      assignedBy: 'bulk',
      assignedEventId: 1,
      unassignedAt: null,
      unassignedEventId: null,
      held: 1,
    })),
  ).flat();
  await manager.insert(
    OrganizationLicenseRow,
    Array.from({ length: ORGANIZATIONS }, (_, k) => ({
      organizationId: organizationId(k),
      tierKey: TIERS[k % 3],
      seatLimit: null,
      seatsUsed: seatRows.filter((seat) => seat.organizationId === organizationId(k)).length,
      // One organization is revoked: its seats give nothing.
      status: k === 5 ? ('REVOKED' as const) : ('ACTIVE' as const),
      revokedAt: k === 5 ? now : null,
      revokeReason: k === 5 ? 'unpaid' : null,
      createdAt: now,
      updatedAt: now,
    })),
  );
  for (let i = 0; i < seatRows.length; i += 200) await manager.insert(SeatRow, seatRows.slice(i, i + 200));
  // Every fifth organization has an audit grant, every seventh ten more api calls a month.
  const grants = Array.from({ length: ORGANIZATIONS }, (_, k) =>
    [
      ...(k % 5 === 0 ? [{ featureKey: 'audit', limit: null }] : []),
      ...(k % 7 === 0 ? [{ featureKey: 'api', limit: 10 }] : []),
    ].map((grant) => ({
      id: randomUUID(),
      userId: null,
      organizationId: organizationId(k),
      ...grant,
      value: null,
      startsAt: new Date(now.getTime() - 1000),
      expiresAt: null,
      revokedAt: null,
      revokeReason: null,
      grantedBy: 'bulk',
      reason: null,
      createdAt: now,
    })),
  ).flat();
  await manager.insert(GrantRow, grants);
  // Organization k has used k pooled calls this month.
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  await manager.insert(
    OrganizationUsageCounterRow,
    Array.from({ length: ORGANIZATIONS }, (_, k) => ({
      organizationId: organizationId(k),
      featureKey: 'calls',
      periodStart: monthStart,
      used: k,
      limitReachedAt: null,
      updatedAt: now,
    })),
  );
});
afterAll(() => server.stop());

describe('_entities for users who hold seats', () => {
  it('runs the same number of SQL statements for 1 user with three seats as for 1,000 users', async () => {
    await statementsFor(USER_QUERY, users([3])); // the catalog is read once, then cached by version
    const one = await statementsFor(USER_QUERY, users([3]));
    const many = await statementsFor(USER_QUERY, users(Array.from({ length: USERS }, (_, i) => i)));
    expect(many.entities).toHaveLength(USERS);
    expect(many.entities.map((user: any) => user.seats.length)).toEqual(
      Array.from({ length: USERS }, (_, i) => i % 4),
    );
    expect(one.count).toBeGreaterThan(0);
    expect(many.count).toBe(one.count);
    // The users' batch (ten statements, see entities.test.ts) and the batch of their organizations for
    // Seat.organization.license (the catalog version, licenses, grants, pools).
    expect(many.count).toBeLessThanOrEqual(14);
  });

  it('answers each user in a batch as it answers that user alone', async () => {
    const sample = [0, 1, 2, 3, 5, 6, 7, 33, 34, 35, 998, 999];
    const { entities } = await statementsFor(USER_QUERY, users(Array.from({ length: USERS }, (_, i) => i)));
    for (const i of sample) {
      const [alone] = (await statementsFor(USER_QUERY, users([i]))).entities;
      expect(entities[i]).toEqual(alone);
    }
  });

  it('merges every seat: sums, pools per organization, revoked organizations left out', async () => {
    const [none, one, two, three] = (await statementsFor(USER_QUERY, users([0, 1, 2, 3]))).entities;
    const entitlement = (user: any, key: string) => user.entitlements.find((e: any) => e.feature.key === key);
    const calls = (user: any) => user.usage.filter((meter: any) => meter.feature.key === 'calls');

    expect(none.seats).toEqual([]);
    expect(entitlement(none, 'api')).toMatchObject({ source: 'TIER', limit: 100, organizations: [] });
    expect(none.sso).toBe(false);

    // Organization 1: starter.
    expect(entitlement(one, 'api')).toMatchObject({ limit: 150, organizations: [{ id: organizationId(1) }] });
    expect(calls(one)).toEqual([
      { feature: { key: 'calls' }, used: 1, limit: 10, organization: { id: organizationId(1) } },
    ]);

    // Organizations 2 (team) and 3 (business): limits add up, the highest-ranked tier's CONFIG value wins.
    expect(entitlement(two, 'api').limit).toBe(100 + 1000 + 500);
    expect(entitlement(two, 'theme').value).toEqual({ color: 'black' });
    expect(entitlement(two, 'audit')).toMatchObject({
      source: 'ORGANIZATION',
      organizations: [{ id: organizationId(2) }],
    });
    expect(two.sso).toBe(true);

    // Organizations 3 (business), 4 (starter) and 5 (business, revoked, with an audit grant).
    expect(three.seats.map((seat: any) => seat.organization.license.status)).toEqual([
      'ACTIVE',
      'ACTIVE',
      'REVOKED',
    ]);
    expect(entitlement(three, 'api')).toMatchObject({
      limit: 100 + 500 + 50,
      organizations: [{ id: organizationId(3) }, { id: organizationId(4) }],
    });
    expect(entitlement(three, 'audit')).toBeUndefined();
    expect(calls(three)).toEqual([
      { feature: { key: 'calls' }, used: 3, limit: 30, organization: { id: organizationId(3) } },
      { feature: { key: 'calls' }, used: 4, limit: 10, organization: { id: organizationId(4) } },
    ]);
    expect(entitlement(three, 'calls')).toMatchObject({
      source: 'ORGANIZATION',
      limit: 40,
      used: 7,
      remaining: 33,
    });
  });
});

describe('_entities for organizations', () => {
  it('runs the same number of SQL statements for 1 organization as for 30, with correct answers', async () => {
    const one = await statementsFor(ORGANIZATION_QUERY, organizations([0]));
    const all = await statementsFor(
      ORGANIZATION_QUERY,
      organizations(Array.from({ length: ORGANIZATIONS }, (_, k) => k)),
    );
    expect(all.count).toBe(one.count);
    expect(all.entities[0]).toEqual(one.entities[0]);
    expect(all.entities[0]).toMatchObject({
      license: { status: 'ACTIVE', tier: { key: 'business' }, seatLimit: null, seatsAvailable: null },
      usage: [{ feature: { key: 'calls' }, used: 0, limit: 30 }],
    });
    // Organization 0 has both grants: audit, and ten api calls on top of its tier's 500.
    expect(all.entities[0].entitlements.find((e: any) => e.feature.key === 'api')).toMatchObject({
      limit: 510,
    });
    expect(all.entities[0].entitlements.map((e: any) => e.feature.key)).toEqual([
      'api',
      'audit',
      'calls',
      'sso',
      'theme',
    ]);
    expect(all.entities[5]).toMatchObject({ license: { status: 'REVOKED' }, entitlements: [], usage: [] });
  });
});

describe('Organization.seats for several organizations', () => {
  const SEATS_QUERY = `query($reps: [_Any!]!, $after: ID) {
    _entities(representations: $reps) {
      ... on Organization {
        two: seats(first: 2, after: $after) { seats { user { id } } endCursor hasMore }
        three: seats(first: 3, after: $after) { seats { user { id } } hasMore }
      }
    }
  }`;
  const every = organizations(Array.from({ length: ORGANIZATIONS }, (_, k) => k));
  /** The statements for the seats alone: those of the same request without them (the views) taken away. */
  const seatStatements = async (reps: { __typename: string; id: string }[], after?: string) => {
    const views = await statementsFor(
      'query($reps: [_Any!]!) { _entities(representations: $reps) { __typename } }',
      reps,
    );
    const { count, entities } = await statementsFor(SEATS_QUERY, reps, { after });
    return { count: count - views.count, entities };
  };

  it('reads the seats of 30 organizations in one statement per page, each page as for that organization alone', async () => {
    const all = await seatStatements(every);
    // `two` and `three` ask two different pages: one statement each, however many organizations.
    expect(all.count).toBe(2);
    for (const k of [0, 5, 17, 29]) {
      const {
        count,
        entities: [alone],
      } = await seatStatements(organizations([k]));
      expect(count).toBe(2);
      expect(all.entities[k]).toEqual(alone);
      expect(alone.two.seats).toHaveLength(2);
      expect(alone.three.seats.slice(0, 2)).toEqual(alone.two.seats);
      expect(alone.two).toMatchObject({ endCursor: expect.any(String), hasMore: true });
    }
  });

  it('pages every organization from one cursor, as the held seats in the database say', async () => {
    const held = await server.dataSource.manager.find(SeatRow, { where: { held: 1 }, order: { id: 'ASC' } });
    // Organization 0's second to last seat: one left there, more in others.
    const ofZero = held.filter((seat) => seat.organizationId === organizationId(0));
    const after = String(ofZero.at(-2)!.id);
    const { count, entities } = await seatStatements(every, after);
    expect(count).toBe(2);
    entities.forEach((organization: any, k: number) => {
      const left = held.filter(
        (seat) => seat.organizationId === organizationId(k) && Number(seat.id) > Number(after),
      );
      expect(organization.two).toEqual({
        seats: left.slice(0, 2).map((seat) => ({ user: { id: seat.userId } })),
        endCursor: left.length > 0 ? String(left[Math.min(left.length, 2) - 1].id) : after,
        hasMore: left.length > 2,
      });
    });
    expect(entities[0].two).toMatchObject({
      seats: [{ user: { id: ofZero.at(-1)!.userId } }],
      hasMore: false,
    });
    expect(entities.some((organization: any) => organization.two.hasMore)).toBe(true);
  });
});
