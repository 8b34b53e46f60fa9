import { Redis } from 'ioredis';

import { describeOnMysql, openTestDatabase, testDatabaseConfig } from '../testkit/database';
import type { ServerProcess } from '../testkit/process';
import { spawnServer, waitUntilReady } from '../testkit/process';
import { TestRedis } from '../testkit/redis-server';
import { dataOf, mintToken, postGraphQL } from '../testkit/server';
import type { TestSocket, TestSubscription } from '../testkit/subscriptions';
import { activeSubscriptions, openSocket, untilSubscribed } from '../testkit/subscriptions';
import { waitUntil } from '../testkit/wait';

const REVOKED = 'subscription($u: ID) { entitlementRevoked(userId: $u) { id type user { id } } }';
const EVENTS = 'subscription($u: ID) { licenseEvents(userId: $u) { id type } }';

/**
 * Two server processes sharing MariaDB and a Redis of the test's own. Their feeds poll only once a minute,
 * so an event that reaches the other replica within the test came through Redis (or, after an outage,
 * through the catch-up read on reconnect).
 */
describeOnMysql('two replicas sharing the database and Redis', () => {
  let redis: TestRedis;
  let replicas: ServerProcess[];
  let urls: string[];
  let admin: string;
  let reader: string;
  const sockets: TestSocket[] = [];

  const gql = async (replica: number, query: string, variables?: Record<string, unknown>) =>
    dataOf(await postGraphQL<any>(urls[replica], query, variables, { authorization: `Bearer ${admin}` }));
  const subscribe = (replica: number, query: string, variables: Record<string, unknown>) => {
    const socket = openSocket(urls[replica].replace('http://', 'ws://'), {
      connectionParams: { authorization: `Bearer ${reader}` },
    });
    sockets.push(socket);
    return socket.subscribe(query, variables);
  };
  const readiness = async (replica: number) => {
    const response = await fetch(new URL('/readyz', urls[replica]));
    return { status: response.status, body: (await response.json()) as { checks: Record<string, boolean> } };
  };
  /** Waits until `replica` holds `count` subscriptions, so that the events committed next reach them. */
  const subscribed = (replica: number, count: number, ...subscriptions: TestSubscription[]) =>
    untilSubscribed(() => activeSubscriptions(urls[replica]), count, subscriptions);
  /** A time window in which something must not happen (no condition can show that it will not). */
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    const dataSource = await openTestDatabase();
    await dataSource.dropDatabase();
    await dataSource.destroy();
    redis = await TestRedis.start();
    const { url } = testDatabaseConfig() as { url: string };
    replicas = [0, 1].map(() =>
      spawnServer({
        DATABASE_URL: url,
        REDIS_URL: redis.url,
        EVENT_POLL_INTERVAL_MS: '60000',
      }),
    );
    urls = await Promise.all(replicas.map((replica) => waitUntilReady(replica)));
    admin = await mintToken('admin', ['entitlements:read', 'entitlements:write']);
    reader = await mintToken('watcher', ['entitlements:read']);
  }, 60_000);

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    // Each test starts with no subscription left on either replica, so it can wait for its own counts.
    await Promise.all([0, 1].map((replica) => subscribed(replica, 0)));
  });

  afterAll(async () => {
    await Promise.all((replicas ?? []).map((replica) => replica.stop()));
    await redis?.stop();
  });

  it('delivers an event committed on one replica to subscribers on both', async () => {
    const onOther = subscribe(1, REVOKED, { u: 'fleet-1' });
    const onSame = subscribe(0, REVOKED, { u: 'fleet-1' });
    await Promise.all([subscribed(1, 1, onOther), subscribed(0, 1, onSame)]);
    await gql(0, 'mutation { revokeLicense(userId: "fleet-1", reason: "chargeback") { id } }');
    const [[other], [same]] = await Promise.all([onOther.waitForData(1), onSame.waitForData(1)]);
    expect(other.data.entitlementRevoked).toMatchObject({ type: 'LICENSE_REVOKED', user: { id: 'fleet-1' } });
    expect(same.data.entitlementRevoked.id).toBe(other.data.entitlementRevoked.id);
  });

  it('records and pushes an expiry exactly once with two replicas running', async () => {
    const watchers = [subscribe(0, REVOKED, { u: 'fleet-2' }), subscribe(1, REVOKED, { u: 'fleet-2' })];
    await Promise.all(watchers.map((watcher, replica) => subscribed(replica, 1, watcher)));
    const expiresAt = new Date(Date.now() + 1000).toISOString();
    await gql(
      1,
      'mutation($e: DateTime!) { grantEntitlement(input: { userId: "fleet-2", feature: "sso", expiresAt: $e }) { id } }',
      {
        e: expiresAt,
      },
    );
    for (const watcher of watchers) {
      const [pushed] = await watcher.waitForData(1, 4000);
      expect(pushed.data.entitlementRevoked.type).toBe('ENTITLEMENT_EXPIRED');
    }
    // Both sweepers look again (every 500 ms) before the test checks that neither pushed it twice.
    await sleep(1500);
    for (const watcher of watchers) expect(watcher.received).toHaveLength(1);
    const stored = await gql(0, '{ licenseEvents(userId: "fleet-2") { events { type } } }');
    expect(stored.licenseEvents.events.filter((e: any) => e.type === 'ENTITLEMENT_EXPIRED')).toHaveLength(1);
  });

  it("records and pushes an override's expiry exactly once with two replicas running", async () => {
    const watchers = [subscribe(0, REVOKED, { u: 'fleet-4' }), subscribe(1, REVOKED, { u: 'fleet-4' })];
    await Promise.all(watchers.map((watcher, replica) => subscribed(replica, 1, watcher)));
    // More projects than the free tier's 3, for a second: its end takes them away.
    await gql(
      1,
      'mutation($e: DateTime!) { setOverride(input: { userId: "fleet-4", feature: "projects", effect: LIMIT, limit: 100, expiresAt: $e }) { id } }',
      { e: new Date(Date.now() + 1000).toISOString() },
    );
    for (const watcher of watchers) {
      const [pushed] = await watcher.waitForData(1, 4000);
      expect(pushed.data.entitlementRevoked.type).toBe('OVERRIDE_EXPIRED');
    }
    await sleep(1500);
    for (const watcher of watchers) expect(watcher.received).toHaveLength(1);
    const stored = await gql(0, '{ licenseEvents(userId: "fleet-4") { events { type } } }');
    expect(stored.licenseEvents.events.map((e: any) => e.type)).toEqual(['OVERRIDE_SET', 'OVERRIDE_EXPIRED']);
  });

  it('stays up without Redis, reports not ready, and delivers what it missed once Redis is back', async () => {
    const watcher = subscribe(1, EVENTS, { u: 'fleet-3' });
    await subscribed(1, 1, watcher);
    await redis.stop();
    for (const replica of [0, 1]) {
      await waitUntil(async () => (await readiness(replica)).status !== 200, { timeoutMs: 5000 });
      const { status, body } = await readiness(replica);
      expect(status).toBe(503);
      expect(body.checks).toEqual({ database: true, redis: false });
    }
    // HTTP keeps working: the change commits, only its fan-out waits.
    await gql(0, 'mutation { changeTier(userId: "fleet-3", tier: "pro") { id } }');
    await gql(0, 'mutation { revokeLicense(userId: "fleet-3", reason: "r") { id } }');
    await sleep(500);
    expect(watcher.received).toHaveLength(0);

    await redis.start();
    const received = await watcher.waitForData(2, 10_000);
    expect(received.map((r) => r.data.licenseEvents.type)).toEqual(['TIER_CHANGED', 'LICENSE_REVOKED']);
    await waitUntil(async () => (await readiness(0)).status === 200, { timeoutMs: 5000 });
    expect((await readiness(0)).status).toBe(200);
    // Nothing more came: a later event is the very next one it gets.
    await gql(1, 'mutation { restoreLicense(userId: "fleet-3") { id } }');
    const [, , next] = await watcher.waitForData(3, 10_000);
    expect(next.data.licenseEvents.type).toBe('LICENSE_RESTORED');
  }, 30_000);

  it('keeps one Redis channel per replica however many subscriptions come and go', async () => {
    const channels = async () => {
      const client = new Redis(redis.url);
      try {
        const [, count] = (await client.pubsub('NUMSUB', 'entitlements:events')) as [string, number];
        return Number(count);
      } finally {
        client.disconnect();
      }
    };
    expect(await channels()).toBe(2);
    const socket = openSocket(urls[0].replace('http://', 'ws://'), { connectionParams: { token: reader } });
    sockets.push(socket);
    const many = Array.from({ length: 300 }, (_, i) => socket.subscribe(EVENTS, { u: `many-${i}` }));
    await subscribed(0, 300, ...many);
    expect(await channels()).toBe(2);
    many.forEach((subscription) => subscription.unsubscribe());
    await socket.close();
    await subscribed(0, 0);
    expect(await channels()).toBe(2);
  });
});
