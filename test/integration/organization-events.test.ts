import { createTestCatalog } from '../testkit/catalog';
import {
  assignSeats,
  createOrganizationCatalog,
  grantToOrganization,
  organizationEvents,
  setOrganizationLicense,
  unassignSeat,
} from '../testkit/organizations';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';
import type { TestSocket, TestSubscription } from '../testkit/subscriptions';
import { openSocket, untilSubscribed } from '../testkit/subscriptions';
import { WebhookReceiver } from '../testkit/webhook-receiver';

let server: TestServer;
let reader: string;
const sockets: TestSocket[] = [];

const EVENT_FIELDS =
  'id type user { id } organization { id } feature { key } fromTier { key } toTier { key } actor';
const LICENSE_EVENTS = `subscription($u: ID, $o: ID, $after: ID) { licenseEvents(userId: $u, organizationId: $o, after: $after) { ${EVENT_FIELDS} } }`;
const REVOKED = `subscription($u: ID) { entitlementRevoked(userId: $u) { ${EVENT_FIELDS} } }`;
const GRANTED = `subscription($u: ID) { entitlementGranted(userId: $u) { ${EVENT_FIELDS} } }`;

/** A subscription on a socket of its own, opened with `token`. */
function subscribe(token: string, query: string, variables: Record<string, unknown> = {}): TestSubscription {
  const socket = openSocket(server.wsUrl, { connectionParams: { authorization: `Bearer ${token}` } });
  sockets.push(socket);
  return socket.subscribe(query, variables);
}

/** The user's own subscription, as a frontend opens it with the user's token. */
async function subscribeAsUser(userId: string, query: string): Promise<TestSubscription> {
  return subscribe(await server.token(userId), query);
}

const subscribed = (count: number, ...subscriptions: TestSubscription[]) =>
  untilSubscribed(() => server.live.feed.listenerCount, count, subscriptions);

async function mutate(query: string, variables?: Record<string, unknown>) {
  return dataOf(await server.gql(query, variables));
}

const changeTier = (u: string, tier: string) =>
  mutate('mutation($u: ID!, $t: ID!) { changeTier(userId: $u, tier: $t) { id } }', { u, t: tier });
const revokeOrganization = (o: string) =>
  mutate('mutation($o: ID!) { revokeOrganizationLicense(organizationId: $o, reason: "unpaid") { id } }', {
    o,
  });
const restoreOrganization = (o: string) =>
  mutate('mutation($o: ID!) { restoreOrganizationLicense(organizationId: $o) { id } }', { o });
const revokeGrant = (g: string) =>
  mutate('mutation($g: ID!) { revokeEntitlement(grantId: $g) { id } }', { g });

const typesOf = (received: { data?: any }[], field: string) => received.map((r) => r.data[field].type);

/**
 * Shows that nothing more reached these subscriptions of `userId` than they have: the user's own license
 * revocation, committed after everything else, is the very next event each gets.
 */
async function expectNothingMore(userId: string, ...subscriptions: [TestSubscription, string][]) {
  const counts = subscriptions.map(([subscription]) => subscription.received.length);
  await mutate('mutation($u: ID!) { revokeLicense(userId: $u, reason: "end of test") { id } }', {
    u: userId,
  });
  for (const [i, [subscription, field]] of subscriptions.entries()) {
    const received = await subscription.waitForData(counts[i] + 1);
    expect(received[counts[i]].data[field]).toMatchObject({ type: 'LICENSE_REVOKED', user: { id: userId } });
  }
}

beforeAll(async () => {
  server = await startTestServer();
  await createTestCatalog(server);
  await createOrganizationCatalog(server);
  reader = await server.token('audit-service', ['entitlements:read']);
});
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  await subscribed(0);
});
afterAll(() => server.stop());

describe("seat holders' subscriptions (rule O5)", () => {
  it("receive each organization change once, its losses on entitlementRevoked; others' do not", async () => {
    await setOrganizationLicense(server, 'acme', 'business');
    await assignSeats(server, 'acme', ['holder', 'former']);
    await unassignSeat(server, 'acme', 'former');
    const holderEvents = await subscribeAsUser('holder', LICENSE_EVENTS);
    const holderLosses = await subscribeAsUser('holder', REVOKED);
    const holderGains = await subscribeAsUser('holder', GRANTED);
    const watched = subscribe(reader, LICENSE_EVENTS, { u: 'holder' });
    const outsider = await subscribeAsUser('outsider', LICENSE_EVENTS);
    const former = await subscribeAsUser('former', LICENSE_EVENTS);
    const everyone = subscribe(reader, LICENSE_EVENTS);
    await subscribed(7, holderEvents, holderLosses, holderGains, watched, outsider, former, everyone);

    const grantId = await grantToOrganization(server, { organizationId: 'acme', feature: 'audit' });
    await setOrganizationLicense(server, 'acme', 'starter');
    await revokeGrant(grantId);
    await revokeOrganization('acme');
    await restoreOrganization('acme');

    const all = [
      'ENTITLEMENT_GRANTED',
      'ORGANIZATION_LICENSE_CHANGED',
      'ENTITLEMENT_REVOKED',
      'ORGANIZATION_LICENSE_REVOKED',
      'ORGANIZATION_LICENSE_RESTORED',
    ];
    const received = await holderEvents.waitForData(5);
    expect(typesOf(received, 'licenseEvents')).toEqual(all);
    for (const { data } of received) {
      expect(data.licenseEvents).toMatchObject({ user: null, organization: { id: 'acme' }, actor: 'admin' });
    }
    expect(received[1].data.licenseEvents).toMatchObject({
      fromTier: { key: 'business' },
      toTier: { key: 'starter' },
    });
    expect(typesOf(await watched.waitForData(5), 'licenseEvents')).toEqual(all);
    expect(typesOf(await holderLosses.waitForData(3), 'entitlementRevoked')).toEqual([
      'ORGANIZATION_LICENSE_CHANGED',
      'ENTITLEMENT_REVOKED',
      'ORGANIZATION_LICENSE_REVOKED',
    ]);
    expect(typesOf(await holderGains.waitForData(2), 'entitlementGranted')).toEqual([
      'ENTITLEMENT_GRANTED',
      'ORGANIZATION_LICENSE_RESTORED',
    ]);

    await expectNothingMore(
      'holder',
      [holderEvents, 'licenseEvents'],
      [watched, 'licenseEvents'],
      [holderLosses, 'entitlementRevoked'],
    );
    await expectNothingMore('outsider', [outsider, 'licenseEvents']);
    await expectNothingMore('former', [former, 'licenseEvents']);
    expect([outsider.received.length, former.received.length]).toEqual([1, 1]);
    // A reader of everyone gets each organization event once, however many seat holders it reaches.
    expect(typesOf(await everyone.waitForData(8), 'licenseEvents')).toEqual([
      ...all,
      'LICENSE_REVOKED',
      'LICENSE_REVOKED',
      'LICENSE_REVOKED',
    ]);
  });

  it("receive the user's own seat changes, the organization's while the seat lasts, and a lost seat on entitlementRevoked", async () => {
    await setOrganizationLicense(server, 'seatco', 'business');
    const events = await subscribeAsUser('newcomer', LICENSE_EVENTS);
    const losses = await subscribeAsUser('newcomer', REVOKED);
    await subscribed(2, events, losses);
    await assignSeats(server, 'seatco', ['newcomer', 'colleague']);
    await setOrganizationLicense(server, 'seatco', 'starter');
    await unassignSeat(server, 'seatco', 'newcomer');
    const received = await events.waitForData(3);
    expect(received.map((r) => [r.data.licenseEvents.type, r.data.licenseEvents.user?.id ?? null])).toEqual([
      ['SEAT_ASSIGNED', 'newcomer'],
      ['ORGANIZATION_LICENSE_CHANGED', null],
      ['SEAT_UNASSIGNED', 'newcomer'],
    ]);
    const lost = await losses.waitForData(2);
    expect(lost.map((r) => r.data.entitlementRevoked)).toEqual([
      expect.objectContaining({ type: 'ORGANIZATION_LICENSE_CHANGED', organization: { id: 'seatco' } }),
      expect.objectContaining({
        type: 'SEAT_UNASSIGNED',
        user: { id: 'newcomer' },
        organization: { id: 'seatco' },
      }),
    ]);
    // After the seat ended, the organization's changes no longer reach it.
    await revokeOrganization('seatco');
    await expectNothingMore('newcomer', [events, 'licenseEvents'], [losses, 'entitlementRevoked']);
  });

  it("receive the expiry of an organization's grant within 2 seconds, once, stored with the organization", async () => {
    await setOrganizationLicense(server, 'expiring', 'starter');
    await assignSeats(server, 'expiring', ['short-lived']);
    const losses = await subscribeAsUser('short-lived', REVOKED);
    const ofOrganization = subscribe(reader, LICENSE_EVENTS, { o: 'expiring' });
    await subscribed(2, losses, ofOrganization);
    const expiresAt = new Date(Date.now() + 800);
    await grantToOrganization(server, {
      organizationId: 'expiring',
      feature: 'sso',
      expiresAt: expiresAt.toISOString(),
    });
    const [pushed] = await losses.waitForData(1, 4000);
    expect(Date.now() - expiresAt.getTime()).toBeLessThan(2000);
    expect(pushed.data.entitlementRevoked).toMatchObject({
      type: 'ENTITLEMENT_EXPIRED',
      user: null,
      organization: { id: 'expiring' },
      feature: { key: 'sso' },
      actor: 'system',
    });
    expect(typesOf(await ofOrganization.waitForData(2), 'licenseEvents')).toEqual([
      'ENTITLEMENT_GRANTED',
      'ENTITLEMENT_EXPIRED',
    ]);
    // The sweeper looks again (every 500 ms) before the test checks that it did not push it twice.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(losses.received).toHaveLength(1);
    const stored = await organizationEvents(server, 'expiring', 'type user { id } organization { id }');
    expect(stored.filter((e) => e.type === 'ENTITLEMENT_EXPIRED')).toEqual([
      { type: 'ENTITLEMENT_EXPIRED', user: null, organization: { id: 'expiring' } },
    ]);
  });
});

describe("an organization's licenseEvents", () => {
  it('need entitlements:read, as query and as subscription', async () => {
    await setOrganizationLicense(server, 'private', 'starter');
    await assignSeats(server, 'private', ['insider']);
    const insider = await server.token('insider');
    const query = await server.gqlAs(
      insider,
      '{ licenseEvents(organizationId: "private") { events { type } } }',
    );
    expect(query.errors?.[0].extensions.code).toBe('FORBIDDEN');
    const subscription = subscribe(insider, LICENSE_EVENTS, { o: 'private' });
    await subscription.ended;
    expect(subscription.received[0].errors?.[0].extensions.code).toBe('FORBIDDEN');
    const both = subscribe(reader, LICENSE_EVENTS, { o: 'private', u: 'insider' });
    await both.ended;
    expect(both.received[0].errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'organizationId',
    });
  });

  it('replay after a cursor and go on live, with no gap and no duplicate', async () => {
    await setOrganizationLicense(server, 'resumed', 'starter');
    const first = (await organizationEvents(server, 'resumed', 'id'))[0].id;
    await assignSeats(server, 'resumed', ['r-1', 'r-2', 'r-3']);
    await changeTier('r-1', 'team'); // a seat holder's own change is not the organization's
    const subscription = subscribe(reader, LICENSE_EVENTS, { o: 'resumed', after: first });
    // More changes commit while the subscription replays.
    for (let i = 0; i < 6; i += 1)
      await setOrganizationLicense(server, 'resumed', i % 2 === 0 ? 'business' : 'starter');
    await unassignSeat(server, 'resumed', 'r-2');
    const received = await subscription.waitForData(10);
    const stored = await organizationEvents(server, 'resumed', 'id');
    expect(stored).toHaveLength(11);
    expect(received.map((r) => r.data.licenseEvents.id)).toEqual(stored.slice(1).map((e) => e.id));
    for (const { data } of received) expect(data.licenseEvents.organization).toEqual({ id: 'resumed' });

    // The query pages through the same events with its cursor.
    const pages: string[] = [];
    let after: string | null = first;
    for (;;) {
      const page: any = dataOf(
        await server.gqlAs(
          reader,
          'query($o: ID, $a: ID) { licenseEvents(organizationId: $o, after: $a, first: 3) { events { id } endCursor hasMore } }',
          {
            o: 'resumed',
            a: after,
          },
        ),
      ).licenseEvents;
      pages.push(...page.events.map((e: any) => e.id));
      after = page.endCursor;
      if (!page.hasMore) break;
    }
    expect(pages).toEqual(stored.slice(1).map((e) => e.id));

    await revokeOrganization('resumed');
    const [, , , , , , , , , , next] = await subscription.waitForData(11);
    expect(next.data.licenseEvents.type).toBe('ORGANIZATION_LICENSE_REVOKED');
  });
});

describe("a user's licenseEvents", () => {
  it('replay the organization events of its seat periods only, as query and as subscription', async () => {
    await setOrganizationLicense(server, 'periods', 'starter'); // before the seat: not the user's
    await setOrganizationLicense(server, 'elsewhere', 'business');
    await assignSeats(server, 'periods', ['periodic']);
    await changeTier('periodic', 'team');
    const grantId = await grantToOrganization(server, { organizationId: 'periods', feature: 'audit' });
    await setOrganizationLicense(server, 'elsewhere', 'starter'); // never the user's organization
    await unassignSeat(server, 'periods', 'periodic');
    await revokeGrant(grantId); // between seats: not the user's
    await assignSeats(server, 'periods', ['periodic']);
    await revokeOrganization('periods');

    const expected = [
      ['SEAT_ASSIGNED', 'periodic'],
      ['TIER_CHANGED', 'periodic'],
      ['ENTITLEMENT_GRANTED', null],
      ['SEAT_UNASSIGNED', 'periodic'],
      ['SEAT_ASSIGNED', 'periodic'],
      ['ORGANIZATION_LICENSE_REVOKED', null],
    ];
    const page = dataOf(
      await server.gql('{ licenseEvents(userId: "periodic") { events { id type user { id } } } }'),
    ).licenseEvents.events;
    expect(page.map((e: any) => [e.type, e.user?.id ?? null])).toEqual(expected);

    // Resumed from its first event, by the user itself, page by page.
    const own = await server.token('periodic');
    // The organization's grant comes with its event, as it does on the user's subscriptions.
    const granted = dataOf(
      await server.gqlAs(
        own,
        '{ licenseEvents(userId: "periodic") { events { grant { id organization { id } } } } }',
      ),
    ).licenseEvents.events[2];
    expect(granted.grant).toEqual({ id: grantId, organization: { id: 'periods' } });
    const resumed: string[] = [];
    let after: string | null = page[0].id;
    for (;;) {
      const next: any = dataOf(
        await server.gqlAs(
          own,
          'query($a: ID) { licenseEvents(userId: "periodic", after: $a, first: 2) { events { id } endCursor hasMore } }',
          {
            a: after,
          },
        ),
      ).licenseEvents;
      resumed.push(...next.events.map((e: any) => e.id));
      after = next.endCursor;
      if (!next.hasMore) break;
    }
    expect(resumed).toEqual(page.slice(1).map((e: any) => e.id));

    const replay = subscribe(own, LICENSE_EVENTS, { after: '0' });
    const replayed = await replay.waitForData(6);
    expect(replayed.map((r) => r.data.licenseEvents.id)).toEqual(page.map((e: any) => e.id));
    await restoreOrganization('periods');
    const live = await replay.waitForData(7);
    expect(live[6].data.licenseEvents).toMatchObject({
      type: 'ORGANIZATION_LICENSE_RESTORED',
      organization: { id: 'periods' },
    });
  });
});

describe("a former seat holder's licenseEvents", () => {
  it('still resolve the grants of the organization events from its seat period', async () => {
    await setOrganizationLicense(server, 'left', 'starter');
    await assignSeats(server, 'left', ['leaver']);
    const grantId = await grantToOrganization(server, { organizationId: 'left', feature: 'sso' });
    await unassignSeat(server, 'left', 'leaver');
    const own = await server.token('leaver');
    const { events } = dataOf(
      await server.gqlAs(own, '{ licenseEvents(userId: "leaver") { events { type grant { id } } } }'),
    ).licenseEvents;
    expect(events).toEqual([
      { type: 'SEAT_ASSIGNED', grant: null },
      { type: 'ENTITLEMENT_GRANTED', grant: { id: grantId } },
      { type: 'SEAT_UNASSIGNED', grant: null },
    ]);
  });
});

describe('webhooks of organization events', () => {
  it('carry organizationId in data, and userId on seat events', async () => {
    const receiver = new WebhookReceiver();
    const url = await receiver.start();
    try {
      const { createWebhookEndpoint } = await mutate(
        'mutation($url: String!) { createWebhookEndpoint(url: $url, eventTypes: [ORGANIZATION_LICENSE_CHANGED, SEAT_ASSIGNED]) { endpoint { id } } }',
        { url },
      );
      await setOrganizationLicense(server, 'hooked', 'starter', 3);
      await assignSeats(server, 'hooked', ['hooked-member']);
      await receiver.waitFor(() => receiver.accepted.length === 2);
      expect(receiver.accepted.map((request) => JSON.parse(request.body).data)).toEqual([
        {
          userId: null,
          organizationId: 'hooked',
          feature: null,
          grantId: null,
          fromTier: null,
          toTier: 'starter',
          actor: 'admin',
          reason: null,
          threshold: null,
        },
        {
          userId: 'hooked-member',
          organizationId: 'hooked',
          feature: null,
          grantId: null,
          fromTier: null,
          toTier: null,
          actor: 'admin',
          reason: null,
          threshold: null,
        },
      ]);
      await mutate('mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', {
        id: createWebhookEndpoint.endpoint.id,
      });
    } finally {
      await receiver.stop();
    }
  });
});
