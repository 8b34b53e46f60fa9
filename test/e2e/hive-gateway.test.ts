import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { parse as parseYaml } from 'yaml';

import { freePort } from '../../support/processes';
import { describeOnMysql, openTestDatabase, testDatabaseConfig } from '../testkit/database';
import type { ServerProcess } from '../testkit/process';
import { spawnNode, spawnServer, waitUntilAnswers, waitUntilReady } from '../testkit/process';
import { TestRedis } from '../testkit/redis-server';
import type { GraphQLResponse } from '../testkit/server';
import { dataOf, mintToken, postGraphQL } from '../testkit/server';
import type { TestSocket } from '../testkit/subscriptions';
import { activeSubscriptions, openSocket, untilSubscribed } from '../testkit/subscriptions';

const ROOT = join(__dirname, '..', '..');

/** GraphQL requests a replica has answered over HTTP, from its Prometheus histogram. */
async function graphqlRequestsServed(url: string): Promise<number> {
  const metrics = await (await fetch(new URL('/metrics', url))).text();
  return [...metrics.matchAll(/^graphql_request_duration_seconds_count\{[^}]*\} (\d+)$/gm)].reduce(
    (sum, [, count]) => sum + Number(count),
    0,
  );
}

/**
 * The local stack of docker-compose.yml without Docker: Hive Gateway (node_modules/.bin/hive-gateway with the
 * committed gateway.config.ts and supergraph.graphql, pointed at the processes below by environment variables),
 * two replicas of this subgraph on MariaDB with a Redis of the test's own, and the demo users subgraph. The
 * gateway reaches replica 0; replica 1 only takes writes, so what a gateway subscriber receives from it came
 * through Redis.
 */
describeOnMysql('the local supergraph through Hive Gateway, as processes', () => {
  const processes: ServerProcess[] = [];
  let redis: TestRedis | undefined;
  let replicaUrls: string[];
  let gatewayUrl: string;
  let gatewayPort: number;
  let socket: TestSocket | undefined;
  let admin: string;

  const viaGateway = async (query: string, token?: string, variables?: Record<string, unknown>) => {
    const response = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as GraphQLResponse<any>) };
  };
  const onReplica = async (replica: number, query: string) =>
    dataOf(await postGraphQL<any>(replicaUrls[replica], query, {}, { authorization: `Bearer ${admin}` }));

  beforeAll(async () => {
    const dataSource = await openTestDatabase();
    await dataSource.dropDatabase();
    await dataSource.destroy();
    redis = await TestRedis.start();
    const { url: databaseUrl } = testDatabaseConfig() as { url: string };
    for (let i = 0; i < 2; i++) {
      // Feeds poll once a minute: an event reaches the other replica within the test through Redis.
      processes.push(
        spawnServer({ DATABASE_URL: databaseUrl, REDIS_URL: redis.url, EVENT_POLL_INTERVAL_MS: '60000' }),
      );
    }
    replicaUrls = await Promise.all(processes.map((replica) => waitUntilReady(replica, 45_000)));
    const jwksUrl = new URL('/.well-known/jwks.json', replicaUrls[0]).href;

    const usersPort = await freePort();
    const users = spawnNode([join(ROOT, 'examples', 'users-subgraph', 'server.js')], {
      PORT: String(usersPort),
      JWKS_URL: jwksUrl,
    });
    processes.push(users);
    const usersUrl = `http://127.0.0.1:${usersPort}/graphql`;
    await waitUntilAnswers(users, `${usersUrl}?query=%7B__typename%7D`, {
      headers: { 'apollo-require-preflight': 'true' },
    });

    gatewayPort = await freePort();
    const gateway = spawnNode(
      [join(ROOT, 'node_modules', '.bin', 'hive-gateway'), 'supergraph', '--port', String(gatewayPort)],
      { ENTITLEMENTS_URL: replicaUrls[0], USERS_URL: usersUrl, JWKS_URL: jwksUrl },
    );
    processes.push(gateway);
    await waitUntilAnswers(gateway, `http://127.0.0.1:${gatewayPort}/readiness`);
    gatewayUrl = `http://127.0.0.1:${gatewayPort}/graphql`;
    admin = await mintToken('admin', ['entitlements:read', 'entitlements:write']);
  }, 90_000);

  afterAll(async () => {
    await socket?.close();
    await Promise.all(processes.map((child) => child.stop()));
    await redis?.stop();
  }, 30_000);

  it('is healthy by the compose health check of the gateway service', async () => {
    const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
    const [, command, ...args] = compose.services.gateway.healthcheck.test as string[];
    expect(command).toBe('node');
    await expect(
      promisify(execFile)(process.execPath, args, { env: { PORT: String(gatewayPort) } }),
    ).resolves.toBeDefined();
  });

  it('answers 100 users joined with this subgraph with one _entities fetch to it', async () => {
    await onReplica(1, 'mutation { changeTier(userId: "user-42", tier: "pro") { id } }');
    const before = await graphqlRequestsServed(replicaUrls[0]);
    const response = await viaGateway(
      '{ users(first: 100) { id email tier { key } canExport: hasEntitlement(feature: "export.pdf") } }',
      admin,
    );
    const served = (await graphqlRequestsServed(replicaUrls[0])) - before;
    const { users } = dataOf(response);
    expect(users).toHaveLength(100);
    expect(users[42]).toEqual({
      id: 'user-42',
      email: 'user-42@example.com',
      tier: { key: 'pro' },
      canExport: true,
    });
    expect(users[41]).toEqual({
      id: 'user-41',
      email: 'user-41@example.com',
      tier: { key: 'free' },
      canExport: false,
    });
    // `users` comes from the users subgraph; every field of this one for all 100 came in one request.
    expect(served).toBe(1);
  });

  it('carries a mutation with the caller’s token, joined with the users subgraph', async () => {
    const { grantEntitlement } = dataOf(
      await viaGateway(
        'mutation { grantEntitlement(input: { userId: "user-9", feature: "sso" }) { grantedBy user { email hasEntitlement(feature: "sso") } } }',
        admin,
      ),
    );
    expect(grantEntitlement).toEqual({
      grantedBy: 'admin',
      user: { email: 'user-9@example.com', hasEntitlement: true },
    });
  });

  it('answers `me` from the verified token, as the README shows', async () => {
    const response = await viaGateway(
      '{ me { email tier { key } canExport: hasEntitlement(feature: "export.pdf") } }',
      await mintToken('user-42'),
    );
    expect(dataOf(response).me).toEqual({
      email: 'user-42@example.com',
      tier: { key: 'pro' },
      canExport: true,
    });
  });

  it('passes the error codes through: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT with its field', async () => {
    const read = '{ user(id: "user-1") { email tier { key } } }';
    const anonymous = await viaGateway(read);
    expect(anonymous.errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    // A token the gateway cannot verify stops there, with the same code.
    const forged = await viaGateway(read, `${admin.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(401);
    expect(forged.errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    const otherUser = await viaGateway(read, await mintToken('user-2'));
    expect(otherUser.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN' });
    const withoutScope = await viaGateway(
      'mutation { revokeLicense(userId: "user-1", reason: "x") { id } }',
      await mintToken('user-2'),
    );
    expect(withoutScope.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN' });
    const badInput = await viaGateway(
      'mutation { grantEntitlement(input: { userId: "user-3", feature: "api.calls", limit: -1 }) { id } }',
      admin,
    );
    expect(badInput.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'limit' });
  });

  it('delivers to a gateway subscriber, over graphql-ws, a revocation committed on the other replica', async () => {
    socket = openSocket(gatewayUrl.replace('http://', 'ws://'), {
      connectionParams: { authorization: `Bearer ${await mintToken('user-7')}` },
    });
    const revoked = socket.subscribe(
      'subscription { entitlementRevoked(userId: "user-7") { type reason user { id email } } }',
    );
    await untilSubscribed(() => activeSubscriptions(replicaUrls[0]), 1, [revoked]);
    await onReplica(1, 'mutation { revokeLicense(userId: "user-7", reason: "chargeback") { id } }');
    const [event] = await revoked.waitForData(1);
    expect(event.data.entitlementRevoked).toEqual({
      type: 'LICENSE_REVOKED',
      reason: 'chargeback',
      user: { id: 'user-7', email: 'user-7@example.com' },
    });
  });

  it('turns away a subscription whose token it cannot verify, with UNAUTHENTICATED', async () => {
    const forged = openSocket(gatewayUrl.replace('http://', 'ws://'), {
      connectionParams: { authorization: `Bearer ${admin.slice(0, -4)}AAAA` },
    });
    try {
      const refused = forged.subscribe('subscription { entitlementRevoked { type } }');
      await refused.ended;
      expect(refused.received[0].errors?.[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    } finally {
      await forged.close();
    }
  });

  it('turns away a subscription without a token, with UNAUTHENTICATED', async () => {
    const anonymous = openSocket(gatewayUrl.replace('http://', 'ws://'));
    try {
      const refused = anonymous.subscribe('subscription { entitlementRevoked { type } }');
      await refused.ended;
      expect(refused.received[0].errors?.[0]).toMatchObject({
        message: 'A bearer token is required',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    } finally {
      await anonymous.close();
    }
  });

  // The gateway verifies the signature only; the subgraph also refuses a blank `sub` and closes its socket with
  // 4401, which the gateway's graphql-ws client does not retry: the subscription ends at once. (With 4403 the
  // client retried for about 40 s, past this test's timeout.) The gateway passes the close on without message.
  it('ends at once a subscription whose token the subgraph refuses', async () => {
    const blankSubject = openSocket(gatewayUrl.replace('http://', 'ws://'), {
      connectionParams: { authorization: `Bearer ${await mintToken(' ')}` },
    });
    try {
      const refused = blankSubject.subscribe('subscription { entitlementRevoked { type } }');
      await refused.ended;
      expect(refused.received).toEqual([{ errors: [expect.anything()] }]);
      expect(refused.received[0].errors?.[0].data).toBeUndefined();
    } finally {
      await blankSubject.close();
    }
  });
});
