import { onMysql } from '../testkit/database';
import { spawnServer, waitUntilReady } from '../testkit/process';
import type { TestServer } from '../testkit/server';
import { dataOf, mintToken, postGraphQL, startTestServer } from '../testkit/server';
import { openSocket } from '../testkit/subscriptions';
import { waitUntil } from '../testkit/wait';
import { WebhookReceiver } from '../testkit/webhook-receiver';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ seedCatalog: true, env: { WEBHOOK_RETRY_BASE_MS: '100' } });
});
afterAll(() => server.stop());

const baseUrl = () => server.url.replace(/\/graphql$/, '');

async function scrape(): Promise<string> {
  const response = await fetch(`${baseUrl()}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

/** The value of one sample, e.g. `license_events_total{type="TIER_CHANGED"}`; 0 when absent. */
function sample(metrics: string, series: string): number {
  const line = metrics.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('/metrics', () => {
  it('serves the process defaults in the Prometheus text format', async () => {
    const metrics = await scrape();
    expect(metrics).toContain('# TYPE process_cpu_seconds_total counter');
    expect(metrics).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });

  it('times GraphQL requests by operation type and name, and counts errors by code', async () => {
    const before = await scrape();
    dataOf(await server.gql('query TierList { tiers { key } }'));
    dataOf(await server.gql('query TierList { tiers { key } }'));
    const reader = await server.token('just-a-user', []);
    await server.gqlAs(reader, 'query Endpoints { webhookEndpoints { id } }');
    await server.gqlAs(null, '{ features { key } }');
    dataOf(await server.gql('{ __typename }'));
    const after = await scrape();

    const count = (series: string) => sample(after, series) - sample(before, series);
    expect(
      count('graphql_request_duration_seconds_count{operation_type="query",operation_name="TierList"}'),
    ).toBe(2);
    expect(
      count('graphql_request_duration_seconds_count{operation_type="query",operation_name="anonymous"}'),
    ).toBe(1);
    expect(
      count(
        'graphql_request_duration_seconds_count{operation_type="query",operation_name="unauthenticated"}',
      ),
    ).toBe(1);
    expect(count('graphql_errors_total{code="FORBIDDEN"}')).toBe(1);
    expect(count('graphql_errors_total{code="UNAUTHENTICATED"}')).toBe(1);
    expect(after).toContain(
      'graphql_request_duration_seconds_bucket{le="0.005",operation_type="query",operation_name="TierList"}',
    );
  });

  it('counts license events by type, and never puts a user id in a label', async () => {
    const before = await scrape();
    dataOf(await server.gql('mutation { changeTier(userId: "metrics-user-4711", tier: "pro") { id } }'));
    const after = await scrape();
    expect(sample(after, 'license_events_total{type="TIER_CHANGED"}')).toBe(
      sample(before, 'license_events_total{type="TIER_CHANGED"}') + 1,
    );
    expect(after).not.toContain('metrics-user-4711');
  });

  it('keeps operation names to a bounded set', async () => {
    for (let i = 0; i < 230; i += 1) await server.gql(`query Probe${i} { __typename }`);
    const names = new Set(
      [
        ...(await scrape()).matchAll(
          /graphql_request_duration_seconds_count\{[^}]*operation_name="([^"]+)"/g,
        ),
      ].map((match) => match[1]),
    );
    // 200 names, plus `anonymous`, `unauthenticated` and `other`.
    expect(names.size).toBeLessThanOrEqual(203);
    expect(names).toContain('other');
  });

  it('shows the subscriptions open on this replica', async () => {
    const socket = openSocket(server.wsUrl, {
      connectionParams: { token: await mintToken('admin', ['entitlements:read']) },
    });
    const subscription = socket.subscribe('subscription { licenseEvents { id } }');
    const activeSubscriptions = async () => sample(await scrape(), 'graphql_active_subscriptions');
    await waitUntil(async () => (await activeSubscriptions()) === 1, { timeoutMs: 5000 });
    expect(sample(await scrape(), 'graphql_active_subscriptions')).toBe(1);
    subscription.unsubscribe();
    await socket.close();
    await waitUntil(async () => (await activeSubscriptions()) === 0, { timeoutMs: 5000 });
    expect(sample(await scrape(), 'graphql_active_subscriptions')).toBe(0);
  });

  it('counts webhook deliveries by status', async () => {
    const receiver = new WebhookReceiver();
    const url = await receiver.start();
    let calls = 0;
    receiver.answer = () => (calls++ === 0 ? 500 : 204);
    try {
      const before = await scrape();
      const { createWebhookEndpoint } = dataOf(
        await server.gql('mutation($url: String!) { createWebhookEndpoint(url: $url) { endpoint { id } } }', {
          url,
        }),
      );
      dataOf(await server.gql('mutation { changeTier(userId: "metrics-hooked", tier: "pro") { id } }'));
      await receiver.waitFor(() => receiver.accepted.length === 1);
      // The attempt is counted once its answer is read, a moment after the receiver sent it.
      const delivered = 'webhook_deliveries_total{status="delivered"}';
      await waitUntil(async () => sample(await scrape(), delivered) > sample(before, delivered));
      const after = await scrape();
      expect(
        sample(after, 'webhook_deliveries_total{status="retry"}') -
          sample(before, 'webhook_deliveries_total{status="retry"}'),
      ).toBe(1);
      expect(
        sample(after, 'webhook_deliveries_total{status="delivered"}') -
          sample(before, 'webhook_deliveries_total{status="delivered"}'),
      ).toBe(1);
      dataOf(
        await server.gql('mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', {
          id: createWebhookEndpoint.endpoint.id,
        }),
      );
    } finally {
      await receiver.stop();
    }
  });

  (onMysql ? it : it.skip)('shows the MySQL pool: connections open and in use', async () => {
    expect(sample(await scrape(), 'db_pool_connections_open')).toBeGreaterThan(0);
    // Background workers borrow a connection now and then; between their looks, none is lent out.
    await waitUntil(async () => sample(await scrape(), 'db_pool_connections_in_use') === 0, {
      timeoutMs: 5000,
      intervalMs: 10,
      what: 'a moment with no pool connection lent out',
    });
  });
});

describe('request ids', () => {
  it('returns the caller-given x-request-id, or a new one', async () => {
    const given = await fetch(`${baseUrl()}/healthz`, { headers: { 'x-request-id': 'router-trace-42' } });
    expect(given.headers.get('x-request-id')).toBe('router-trace-42');
    const made = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('replaces an id that is too long or not plain', async () => {
    for (const id of ['x'.repeat(200), 'has spaces', '{"json":1}']) {
      const response = await fetch(`${baseUrl()}/healthz`, { headers: { 'x-request-id': id } });
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('logs', () => {
  it('are JSON lines with the request id, and hold no token, router secret or webhook secret', async () => {
    const routerSecret = 'router-secret-value-5f2c';
    const child = spawnServer({
      DATABASE_URL: 'sqlite::memory:',
      LOG_LEVEL: 'trace',
      ROUTER_SECRET: routerSecret,
      WEBHOOK_RETRY_BASE_MS: '100',
    });
    const receiver = new WebhookReceiver();
    const receiverUrl = await receiver.start();
    try {
      const url = await waitUntilReady(child);
      const admin = await mintToken('admin', ['entitlements:read', 'entitlements:write']);
      const headers = { authorization: `Bearer ${admin}`, 'router-authorization': routerSecret };

      const created = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'x-request-id': 'trace-create-hook' },
        body: JSON.stringify({
          operationName: 'CreateHook',
          query: 'mutation CreateHook($url: String!) { createWebhookEndpoint(url: $url) { secret } }',
          variables: { url: receiverUrl },
        }),
      });
      const secret = ((await created.json()) as any).data.createWebhookEndpoint.secret as string;
      const changed = await postGraphQL<any>(
        url,
        'mutation { changeTier(userId: "logged", tier: "pro") { id } }',
        {},
        headers,
      );
      expect(changed.errors).toBeUndefined();
      await receiver.waitFor(() => receiver.accepted.length === 1);
      const signature = receiver.accepted[0].headers['webhook-signature'] as string;
      // A refused token and a request without the router secret are logged too, still without the token.
      const bogus = `${admin.slice(0, -4)}AAAA`;
      await postGraphQL<any>(
        url,
        '{ webhookEndpoints { id } }',
        {},
        { ...headers, authorization: `Bearer ${bogus}` },
      );
      await postGraphQL<any>(url, '{ webhookEndpoints { id } }', {}, { authorization: `Bearer ${admin}` });
      await new Promise((resolve) => setTimeout(resolve, 200));

      const output = child.output();
      for (const secretValue of [
        admin,
        bogus,
        routerSecret,
        secret,
        secret.slice('whsec_'.length),
        signature,
      ]) {
        expect(output).not.toContain(secretValue);
      }
      const lines = output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      const access = lines.find(
        (line) => line.reqId === 'trace-create-hook' && line.msg === 'request completed',
      );
      expect(access).toMatchObject({
        level: 30,
        service: 'entitlements-subgraph',
        method: 'POST',
        path: '/graphql',
        statusCode: 200,
        operationName: 'CreateHook',
        durationMs: expect.any(Number),
      });
      expect(
        lines.filter((line) => line.msg === 'request completed' && line.statusCode === 401),
      ).toHaveLength(1);
    } finally {
      await child.stop();
      await receiver.stop();
    }
  });
});
