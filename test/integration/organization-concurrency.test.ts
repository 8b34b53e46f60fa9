import { OrganizationUsageCounterRow, SeatRow } from '../../src/db/entities';
import { createTestCatalog } from '../testkit/catalog';
import {
  assignSeats,
  createOrganizationCatalog,
  entity,
  organizationEvents,
  setOrganizationLicense,
} from '../testkit/organizations';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

let server: TestServer;
let meterToken: string;

const ASSIGN =
  'mutation($o: ID!, $u: ID!) { assignSeat(organizationId: $o, userId: $u) { user { id } assignedAt } }';

const assign = (o: string, u: string) => server.gql(ASSIGN, { o, u });
const license = async (o: string) =>
  (await entity(server, 'Organization', o, 'license { seatLimit seatsUsed seatsAvailable }')).license;
const heldSeats = (organizationId: string) =>
  server.dataSource.manager.countBy(SeatRow, { organizationId, held: 1 });
const codes = (responses: { errors?: { extensions: { code: string } }[] }[]) =>
  responses.map((response) => response.errors?.[0].extensions.code ?? 'OK');
const tally = (values: string[]) =>
  values.reduce<Record<string, number>>(
    (counts, value) => ({ ...counts, [value]: (counts[value] ?? 0) + 1 }),
    {},
  );

beforeAll(async () => {
  server = await startTestServer();
  await createTestCatalog(server);
  await createOrganizationCatalog(server);
  meterToken = await server.token('metering-service', ['usage:write']);
});
afterAll(() => server.stop());

describe('assignSeat under concurrency (rule O2)', () => {
  it('60 concurrent calls for distinct users with 10 free seats: exactly 10 succeed, the rest SEAT_LIMIT_REACHED', async () => {
    await setOrganizationLicense(server, 'race-1', 'business', 12);
    await assignSeats(server, 'race-1', ['early-1', 'early-2']);
    const users = Array.from({ length: 60 }, (_, i) => `racer-${i}`);
    const responses = await Promise.all(users.map((u) => assign('race-1', u)));
    expect(tally(codes(responses))).toEqual({ OK: 10, SEAT_LIMIT_REACHED: 50 });
    expect(await license('race-1')).toEqual({ seatLimit: 12, seatsUsed: 12, seatsAvailable: 0 });
    expect(await heldSeats('race-1')).toBe(12);
    const winners = users.filter((_, i) => !responses[i].errors);
    const events = await organizationEvents(server, 'race-1', 'type user { id }');
    expect(
      events
        .filter((e) => e.type === 'SEAT_ASSIGNED')
        .map((e) => e.user.id)
        .sort(),
    ).toEqual(['early-1', 'early-2', ...winners].sort());
    // The losers hold nothing.
    const loser = users.find((_, i) => responses[i].errors)!;
    expect(await entity(server, 'User', loser, 'seats { assignedAt }')).toEqual({ seats: [] });
  });

  it('concurrent calls for one user give one seat and one event, the same seat to every caller', async () => {
    await setOrganizationLicense(server, 'race-2', 'starter', 5);
    const responses = await Promise.all(Array.from({ length: 20 }, () => assign('race-2', 'twin')));
    const seats = responses.map((response) => dataOf(response).assignSeat);
    expect(new Set(seats.map((seat) => JSON.stringify(seat))).size).toBe(1);
    expect(await license('race-2')).toMatchObject({ seatsUsed: 1 });
    expect((await organizationEvents(server, 'race-2')).map((e) => e.type)).toEqual([
      'ORGANIZATION_LICENSE_CHANGED',
      'SEAT_ASSIGNED',
    ]);
  });

  it('a seat limit lowered while seats are assigned is never passed', async () => {
    await setOrganizationLicense(server, 'race-3', 'starter', 30);
    const calls = Array.from({ length: 40 }, (_, i) =>
      i === 10
        ? server.gql(
            'mutation { setOrganizationLicense(input: { organizationId: "race-3", tier: "starter", seatLimit: 8 }) { id } }',
          )
        : assign('race-3', `lowered-${i}`),
    );
    const responses = await Promise.all(calls);
    const lowering = responses[10];
    const { seatLimit, seatsUsed } = await license('race-3');
    expect(seatsUsed).toBe(await heldSeats('race-3'));
    if (lowering.errors) {
      // Refused because more than 8 seats were already taken: nothing changed.
      expect(lowering.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'seatLimit' });
      expect({ seatLimit, seatsUsed }).toEqual({ seatLimit: 30, seatsUsed: 30 });
    } else {
      expect({ seatLimit, seatsUsed }).toEqual({ seatLimit: 8, seatsUsed: 8 });
    }
    expect(codes(responses).filter((code) => code === 'SEAT_LIMIT_REACHED')).toHaveLength(39 - seatsUsed);
  });

  it('seats taken and given back at once leave the count exact', async () => {
    await setOrganizationLicense(server, 'race-4', 'starter', 10);
    const holders = Array.from({ length: 10 }, (_, i) => `churn-${i}`);
    await assignSeats(server, 'race-4', holders);
    const newcomers = Array.from({ length: 20 }, (_, i) => `newcomer-${i}`);
    const responses = await Promise.all([
      ...holders.map((u) =>
        server.gql(
          'mutation($u: ID!) { unassignSeat(organizationId: "race-4", userId: $u) { assignedAt } }',
          { u },
        ),
      ),
      ...newcomers.map((u) => assign('race-4', u)),
    ]);
    for (const response of responses.slice(0, 10)) dataOf(response);
    const seated = codes(responses.slice(10)).filter((code) => code === 'OK').length;
    expect(seated).toBeGreaterThan(0);
    expect(seated).toBeLessThanOrEqual(10);
    expect(await license('race-4')).toMatchObject({ seatsUsed: seated, seatsAvailable: 10 - seated });
    expect(await heldSeats('race-4')).toBe(seated);
  });
});

describe('setOrganizationLicense under concurrency', () => {
  it('racing first calls for a new organization all commit, one creating the license, the others changing it', async () => {
    const tiers = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 'starter' : 'business'));
    const responses = await Promise.all(
      tiers.map((tier, i) =>
        server.gql(
          'mutation($input: OrganizationLicenseInput!) { setOrganizationLicense(input: $input) { id } }',
          {
            input: { organizationId: 'fresh-race', tier, seatLimit: i + 1 },
          },
        ),
      ),
    );
    expect(codes(responses)).toEqual(tiers.map(() => 'OK'));
    const events = await organizationEvents(server, 'fresh-race', 'fromTier { key } toTier { key }');
    expect(events).toHaveLength(12);
    // The events chain from no tier to the tier the license ends with.
    let current: string | null = null;
    for (const event of events) {
      expect(event.fromTier?.key ?? null).toBe(current);
      current = event.toTier.key;
    }
    expect(
      (await entity(server, 'Organization', 'fresh-race', 'license { tier { key } }')).license.tier.key,
    ).toBe(current);
  });
  it('new organizations created at once all get their license', async () => {
    const organizations = Array.from({ length: 40 }, (_, i) => `founded-${i}`);
    const responses = await Promise.all(
      organizations.map((organizationId) =>
        server.gql(
          'mutation($input: OrganizationLicenseInput!) { setOrganizationLicense(input: $input) { id } }',
          {
            input: { organizationId, tier: 'starter', seatLimit: 3 },
          },
        ),
      ),
    );
    expect(codes(responses)).toEqual(organizations.map(() => 'OK'));
    const licensed = dataOf(
      await server.gql(
        'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Organization { license { seatLimit } } } }',
        { reps: organizations.map((id) => ({ __typename: 'Organization', id })) },
      ),
    )._entities;
    expect(licensed).toEqual(organizations.map(() => ({ license: { seatLimit: 3 } })));
  });
});

describe('pooled recordUsage under concurrency (rule O4)', () => {
  it('100 concurrent calls from 10 members against a pool of 30 allow exactly 30, with one USAGE_LIMIT_REACHED', async () => {
    const members = Array.from({ length: 10 }, (_, i) => `pool-member-${i}`);
    await setOrganizationLicense(server, 'pool-1', 'business');
    await assignSeats(server, 'pool-1', members);
    const results = await Promise.all(
      Array.from(
        { length: 100 },
        async (_, i) =>
          dataOf(
            await server.gqlAs(
              meterToken,
              'mutation($input: RecordUsageInput!) { recordUsage(input: $input) { allowed meter { used limit organization { id } } } }',
              { input: { userId: members[i % 10], feature: 'calls' } },
            ),
          ).recordUsage,
      ),
    );
    const allowed = results.filter((result) => result.allowed);
    expect(allowed).toHaveLength(30);
    // Each allowed call saw its own count, 1 to 30, once each.
    expect(allowed.map((result) => result.meter.used).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    for (const result of results)
      expect(result.meter).toMatchObject({ limit: 30, organization: { id: 'pool-1' } });
    const counters = await server.dataSource.manager.findBy(OrganizationUsageCounterRow, {
      organizationId: 'pool-1',
      featureKey: 'calls',
    });
    expect(counters.map((row) => Number(row.used))).toEqual([30]);
    const reached = (
      await organizationEvents(server, 'pool-1', 'type user { id } organization { id }')
    ).filter((e) => e.type === 'USAGE_LIMIT_REACHED');
    expect(reached).toEqual([{ type: 'USAGE_LIMIT_REACHED', user: null, organization: { id: 'pool-1' } }]);
    // Nobody's own meter counted any of it.
    const usage = await entity(
      server,
      'User',
      members[0],
      'usage { feature { key } used organization { id } }',
    );
    expect(usage.usage.find((m: any) => m.feature.key === 'calls')).toEqual({
      feature: { key: 'calls' },
      used: 30,
      organization: { id: 'pool-1' },
    });
  });
});
