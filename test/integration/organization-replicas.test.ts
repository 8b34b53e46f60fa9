import { createTestCatalog } from '../testkit/catalog';
import { describeOnMysql } from '../testkit/database';
import {
  assignSeats,
  createOrganizationCatalog,
  entity,
  grantToOrganization,
  setOrganizationLicense,
} from '../testkit/organizations';
import { TestRedis } from '../testkit/redis-server';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';
import type { TestSocket, TestSubscription } from '../testkit/subscriptions';
import { openSocket, untilSubscribed } from '../testkit/subscriptions';

const EVENT_FIELDS = 'id type user { id } organization { id } actor';
const LICENSE_EVENTS = `subscription($o: ID, $after: ID) { licenseEvents(organizationId: $o, after: $after) { ${EVENT_FIELDS} } }`;
const OWN_EVENTS = `subscription { licenseEvents { ${EVENT_FIELDS} } }`;
const OWN_LOSSES = `subscription { entitlementRevoked { ${EVENT_FIELDS} } }`;

/**
 * Two servers on one MariaDB database with a Redis of the test's own. Their feeds poll only once a minute,
 * so an event that reaches the other replica within the test came through Redis.
 */
describeOnMysql('organizations on two replicas', () => {
  let redis: TestRedis;
  let replicas: TestServer[];
  const sockets: TestSocket[] = [];

  const gql = async (replica: number, query: string, variables?: Record<string, unknown>) =>
    dataOf(await replicas[replica].gql(query, variables));
  const subscribe = (
    replica: number,
    token: string,
    query: string,
    variables: Record<string, unknown> = {},
  ) => {
    const socket = openSocket(replicas[replica].wsUrl, {
      connectionParams: { authorization: `Bearer ${token}` },
    });
    sockets.push(socket);
    return socket.subscribe(query, variables);
  };
  /** Waits until each replica holds as many subscriptions as given, so that the events committed next reach them. */
  const subscribed = (counts: [number, number], ...subscriptions: TestSubscription[]) =>
    Promise.all(
      replicas.map((replica, i) =>
        untilSubscribed(() => replica.live.feed.listenerCount, counts[i], subscriptions),
      ),
    );
  const sso = async (replica: number, userId: string) =>
    (await entity(replicas[replica], 'User', userId, 'sso: hasEntitlement(feature: "sso")')).sso as boolean;

  beforeAll(async () => {
    redis = await TestRedis.start();
    const env = { REDIS_URL: redis.url, EVENT_POLL_INTERVAL_MS: '60000' };
    const first = await startTestServer({ env });
    replicas = [first, await startTestServer({ env, keepData: true })];
    await createTestCatalog(first);
    await createOrganizationCatalog(first);
  }, 60_000);

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    await subscribed([0, 0]);
  });

  afterAll(async () => {
    await Promise.all((replicas ?? []).map((replica) => replica.stop()));
    await redis?.stop();
  });

  it('a loss through the organization on one replica shows in the next read on the other', async () => {
    await setOrganizationLicense(replicas[0], 'readco', 'business');
    await assignSeats(replicas[0], 'readco', ['reader-1']);
    expect(await sso(1, 'reader-1')).toBe(true);

    const draw = async () =>
      (await gql(1, 'mutation { recordUsage(input: { userId: "reader-1", feature: "calls" }) { allowed } }'))
        .recordUsage.allowed as boolean;
    expect(await draw()).toBe(true);
    await gql(0, 'mutation { revokeOrganizationLicense(organizationId: "readco", reason: "unpaid") { id } }');
    expect(await sso(1, 'reader-1')).toBe(false);
    expect(await draw()).toBe(false);
    expect((await entity(replicas[1], 'Organization', 'readco', 'license { status }')).license.status).toBe(
      'REVOKED',
    );
    await gql(0, 'mutation { restoreOrganizationLicense(organizationId: "readco") { id } }');
    expect(await sso(1, 'reader-1')).toBe(true);

    await gql(0, 'mutation { unassignSeat(organizationId: "readco", userId: "reader-1") { assignedAt } }');
    expect(await sso(1, 'reader-1')).toBe(false);
    expect(await entity(replicas[1], 'User', 'reader-1', 'seats { assignedAt }')).toEqual({ seats: [] });
    await assignSeats(replicas[0], 'readco', ['reader-1']);
    expect(await sso(1, 'reader-1')).toBe(true);

    await setOrganizationLicense(replicas[0], 'readco', 'starter');
    expect(await sso(1, 'reader-1')).toBe(false);

    const grantId = await grantToOrganization(replicas[0], { organizationId: 'readco', feature: 'sso' });
    expect(await sso(1, 'reader-1')).toBe(true);
    await gql(0, 'mutation($g: ID!) { revokeEntitlement(grantId: $g) { id } }', { g: grantId });
    expect(await sso(1, 'reader-1')).toBe(false);
  });

  it("delivers an organization's changes to its seat holders on both replicas, once each", async () => {
    await setOrganizationLicense(replicas[0], 'fleetco', 'business');
    await assignSeats(replicas[0], 'fleetco', ['fleet-a', 'fleet-b']);
    const grantId = await grantToOrganization(replicas[0], { organizationId: 'fleetco', feature: 'audit' });
    const tokens = { a: await replicas[0].token('fleet-a'), b: await replicas[0].token('fleet-b') };
    const outsider = await replicas[0].token('fleet-outsider');
    const watchers = [
      subscribe(0, tokens.a, OWN_EVENTS),
      subscribe(1, tokens.a, OWN_EVENTS),
      subscribe(1, tokens.b, OWN_EVENTS),
      subscribe(1, outsider, OWN_EVENTS),
    ];
    const losses = [subscribe(0, tokens.a, OWN_LOSSES), subscribe(1, tokens.b, OWN_LOSSES)];
    await subscribed([2, 4], ...watchers, ...losses);

    await setOrganizationLicense(replicas[0], 'fleetco', 'starter');
    await gql(0, 'mutation($g: ID!) { revokeEntitlement(grantId: $g) { id } }', { g: grantId });
    await gql(
      0,
      'mutation { revokeOrganizationLicense(organizationId: "fleetco", reason: "unpaid") { id } }',
    );
    const expected = ['ORGANIZATION_LICENSE_CHANGED', 'ENTITLEMENT_REVOKED', 'ORGANIZATION_LICENSE_REVOKED'];
    for (const watcher of watchers.slice(0, 3)) {
      const received = await watcher.waitForData(3);
      expect(received.map((r) => r.data.licenseEvents.type)).toEqual(expected);
      for (const { data } of received)
        expect(data.licenseEvents).toMatchObject({ organization: { id: 'fleetco' }, user: null });
    }
    for (const loss of losses) {
      expect((await loss.waitForData(3)).map((r) => r.data.entitlementRevoked.type)).toEqual(expected);
    }
    // Nothing more, and nothing for the outsider: each user's own revocation, committed on the other replica
    // after everything else, is the next event each subscription gets.
    const users: [string, TestSubscription[]][] = [
      ['fleet-a', [watchers[0], watchers[1], losses[0]]],
      ['fleet-b', [watchers[2], losses[1]]],
      ['fleet-outsider', [watchers[3]]],
    ];
    for (const [userId, subscriptions] of users) {
      const counts = subscriptions.map((subscription) => subscription.received.length);
      await gql(1, 'mutation($u: ID!) { revokeLicense(userId: $u, reason: "end") { id } }', { u: userId });
      for (const [i, subscription] of subscriptions.entries()) {
        const next = (await subscription.waitForData(counts[i] + 1))[counts[i]].data;
        expect(Object.values(next)[0]).toMatchObject({ type: 'LICENSE_REVOKED', user: { id: userId } });
      }
    }
    expect(watchers[3].received).toHaveLength(1);
  });

  it("records and pushes an organization grant's expiry exactly once with two replicas running", async () => {
    await setOrganizationLicense(replicas[1], 'expireco', 'starter');
    await assignSeats(replicas[1], 'expireco', ['expiring-member']);
    const token = await replicas[0].token('expiring-member');
    const losses = [subscribe(0, token, OWN_LOSSES), subscribe(1, token, OWN_LOSSES)];
    await subscribed([1, 1], ...losses);
    const expiresAt = new Date(Date.now() + 1000);
    await grantToOrganization(replicas[1], {
      organizationId: 'expireco',
      feature: 'sso',
      expiresAt: expiresAt.toISOString(),
    });
    for (const loss of losses) {
      const [pushed] = await loss.waitForData(1, 4000);
      expect(pushed.data.entitlementRevoked).toMatchObject({
        type: 'ENTITLEMENT_EXPIRED',
        user: null,
        organization: { id: 'expireco' },
        actor: 'system',
      });
    }
    expect(Date.now() - expiresAt.getTime()).toBeLessThan(2000);
    // Both sweepers look again (every 500 ms) before the test checks that neither pushed it twice.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const loss of losses) expect(loss.received).toHaveLength(1);
    const stored = await gql(0, '{ licenseEvents(organizationId: "expireco") { events { type } } }');
    expect(stored.licenseEvents.events.filter((e: any) => e.type === 'ENTITLEMENT_EXPIRED')).toHaveLength(1);
  });

  it("resumes an organization's subscription on one replica with after, while the other commits", async () => {
    await setOrganizationLicense(replicas[0], 'resumeco', 'starter');
    const [{ id: first }] = (await gql(0, '{ licenseEvents(organizationId: "resumeco") { events { id } } }'))
      .licenseEvents.events;
    await assignSeats(replicas[0], 'resumeco', ['resume-1', 'resume-2']);
    const reader = await replicas[0].token('audit-service', ['entitlements:read']);
    const subscription = subscribe(1, reader, LICENSE_EVENTS, { o: 'resumeco', after: first });
    for (let i = 0; i < 6; i += 1)
      await setOrganizationLicense(replicas[0], 'resumeco', i % 2 ? 'starter' : 'business');
    const received = await subscription.waitForData(8);
    const stored = (await gql(1, '{ licenseEvents(organizationId: "resumeco") { events { id } } }'))
      .licenseEvents.events;
    expect(received.map((r) => r.data.licenseEvents.id)).toEqual(stored.slice(1).map((e: any) => e.id));
    await gql(0, 'mutation { revokeOrganizationLicense(organizationId: "resumeco", reason: "r") { id } }');
    const [next] = (await subscription.waitForData(9)).slice(8);
    expect(next.data.licenseEvents.type).toBe('ORGANIZATION_LICENSE_REVOKED');
  });
});
