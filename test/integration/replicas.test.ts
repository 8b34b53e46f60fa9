import { Redis } from 'ioredis';

import { openTestDatabase, describeOnMysql, testDatabaseConfig } from '../testkit/database';
import { spawnServer, waitUntilReady } from '../testkit/process';
import type { ServerProcess } from '../testkit/process';
import { TestRedis } from '../testkit/redis-server';
import { dataOf, mintToken, postGraphQL } from '../testkit/server';
import { openSocket } from '../testkit/subscriptions';
import type { TestSocket } from '../testkit/subscriptions';
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
  const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

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
  });

  afterAll(async () => {
    await Promise.all((replicas ?? []).map((replica) => replica.stop()));
    await redis?.stop();
  });

  it('delivers an event committed on one replica to subscribers on both', async () => {
    const onOther = subscribe(1, REVOKED, { u: 'fleet-1' });
    const onSame = subscribe(0, REVOKED, { u: 'fleet-1' });
    await settle();
    await gql(0, 'mutation { revokeLicense(userId: "fleet-1", reason: "chargeback") { id } }');
    const [[other], [same]] = await Promise.all([onOther.waitForData(1), onSame.waitForData(1)]);
    expect(other.data.entitlementRevoked).toMatchObject({ type: 'LICENSE_REVOKED', user: { id: 'fleet-1' } });
    expect(same.data.entitlementRevoked.id).toBe(other.data.entitlementRevoked.id);
  });

  it('records and pushes an expiry exactly once with two replicas running', async () => {
    const watchers = [subscribe(0, REVOKED, { u: 'fleet-2' }), subscribe(1, REVOKED, { u: 'fleet-2' })];
    await settle();
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
    await settle(1500);
    for (const watcher of watchers) expect(watcher.received).toHaveLength(1);
    const stored = await gql(0, '{ licenseEvents(userId: "fleet-2") { events { type } } }');
    expect(stored.licenseEvents.events.filter((e: any) => e.type === 'ENTITLEMENT_EXPIRED')).toHaveLength(1);
  });

  it('stays up without Redis, reports not ready, and delivers what it missed once Redis is back', async () => {
    const watcher = subscribe(1, EVENTS, { u: 'fleet-3' });
    await settle();
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
    await settle(500);
    expect(watcher.received).toHaveLength(0);

    await redis.start();
    const received = await watcher.waitForData(2, 10_000);
    expect(received.map((r) => r.data.licenseEvents.type)).toEqual(['TIER_CHANGED', 'LICENSE_REVOKED']);
    await waitUntil(async () => (await readiness(0)).status === 200, { timeoutMs: 5000 });
    expect((await readiness(0)).status).toBe(200);
    await settle(500);
    expect(watcher.received).toHaveLength(2);
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
    await settle(500);
    expect(await channels()).toBe(2);
    many.forEach((subscription) => subscription.unsubscribe());
    await socket.close();
    await settle(300);
    expect(await channels()).toBe(2);
  });
});
