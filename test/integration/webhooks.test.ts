import { mkdtempSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Webhook } from 'standardwebhooks';

import { authenticated, Scope } from '../../src/auth/caller';
import { WebhookDeliveryRow, WebhookEndpointRow } from '../../src/db/entities';
import { WebhookQueue } from '../../src/db/webhook-queue';
import { postOnce } from '../../src/outbound/http';
import { WebhookService } from '../../src/services/webhook.service';
import { createTestCatalog } from '../testkit/catalog';
import { spawnServer, waitUntilReady } from '../testkit/process';
import type { TestServer } from '../testkit/server';
import { dataOf, mintToken, postGraphQL, startTestServer } from '../testkit/server';
import { waitUntil } from '../testkit/wait';
import type { ReceivedWebhook } from '../testkit/webhook-receiver';
import { WebhookReceiver } from '../testkit/webhook-receiver';

let server: TestServer;
let receiver: WebhookReceiver;
let receiverUrl: string;

beforeAll(async () => {
  server = await startTestServer({ env: { WEBHOOK_RETRY_BASE_MS: '100' } });
  await createTestCatalog(server);
  receiver = new WebhookReceiver();
  receiverUrl = await receiver.start();
});
afterAll(async () => {
  await server.stop();
  await receiver.stop();
});
afterEach(async () => {
  // Endpoints receive every event of the database; each test starts with none.
  await server.dataSource.manager.clear(WebhookDeliveryRow);
  await server.dataSource.manager.createQueryBuilder().delete().from(WebhookEndpointRow).execute();
  receiver.received.length = 0;
  receiver.answer = () => 200;
});

const CREATE = `mutation($url: String!, $types: [LicenseEventType!]) {
  createWebhookEndpoint(url: $url, eventTypes: $types) { endpoint { id url eventTypes enabled createdAt } secret }
}`;
const DELIVERIES = `query($id: ID!, $first: Int) {
  webhookDeliveries(endpointId: $id, first: $first) {
    id status attempts lastStatusCode nextAttemptAt deliveredAt event { id type user { id } feature { key } }
  }
}`;

async function createEndpoint(types?: string[], url = receiverUrl) {
  const { createWebhookEndpoint } = dataOf(await server.gql(CREATE, { url, types }));
  return createWebhookEndpoint as { endpoint: { id: string; enabled: boolean }; secret: string };
}

async function grant(userId: string, feature = 'sso') {
  const { grantEntitlement } = dataOf(
    await server.gql('mutation($input: GrantEntitlementInput!) { grantEntitlement(input: $input) { id } }', {
      input: { userId, feature, reason: 'webhook test' },
    }),
  );
  return grantEntitlement.id as string;
}

async function deliveriesOf(endpointId: string) {
  return dataOf(await server.gql(DELIVERIES, { id: endpointId })).webhookDeliveries as any[];
}

/** Verified by the Standard Webhooks reference library, not by our own code. */
function verified(secret: string, request: ReceivedWebhook): any {
  return new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
}

describe('webhook endpoints', () => {
  it('shows the secret once, when the endpoint is created', async () => {
    const created = await createEndpoint(['ENTITLEMENT_GRANTED', 'TIER_CHANGED']);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.endpoint).toMatchObject({
      url: receiverUrl,
      eventTypes: ['ENTITLEMENT_GRANTED', 'TIER_CHANGED'],
      enabled: true,
    });
    const listed = dataOf(await server.gql('{ webhookEndpoints { id url eventTypes enabled } }'));
    expect(listed.webhookEndpoints).toEqual([
      {
        id: created.endpoint.id,
        url: receiverUrl,
        eventTypes: ['ENTITLEMENT_GRANTED', 'TIER_CHANGED'],
        enabled: true,
      },
    ]);
    const secretField = await server.gql('{ webhookEndpoints { secret } }');
    expect(secretField.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses URLs that are not absolute http(s) or carry credentials, and stores nothing', async () => {
    for (const url of [
      'not a url',
      'ftp://example.com/x',
      'file:///etc/passwd',
      'https://user:pw@example.com/',
    ]) {
      const response = await server.gql(CREATE, { url });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
    }
    const tooLong = await server.gql(CREATE, { url: `https://example.com/${'a'.repeat(2100)}` });
    expect(tooLong.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
    expect(await server.dataSource.manager.count(WebhookEndpointRow)).toBe(0);
  });

  it('needs entitlements:read to read and entitlements:write to change', async () => {
    const created = await createEndpoint();
    const user = await server.token('someone', []);
    const reader = await server.token('reader', ['entitlements:read']);
    const usage = await server.token('meter', ['usage:write']);

    expect((await server.gqlAs(null, '{ webhookEndpoints { id } }')).errors?.[0].extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await server.gqlAs(user, '{ webhookEndpoints { id } }')).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect(
      (await server.gqlAs(usage, DELIVERIES, { id: created.endpoint.id })).errors?.[0].extensions?.code,
    ).toBe('FORBIDDEN');
    expect(dataOf(await server.gqlAs(reader, '{ webhookEndpoints { id } }')).webhookEndpoints).toHaveLength(
      1,
    );
    expect(
      dataOf(await server.gqlAs(reader, DELIVERIES, { id: created.endpoint.id })).webhookDeliveries,
    ).toEqual([]);

    for (const token of [reader, user]) {
      const create = await server.gqlAs(token, CREATE, { url: receiverUrl });
      expect(create.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      const remove = await server.gqlAs(token, 'mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', {
        id: created.endpoint.id,
      });
      expect(remove.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    expect(await server.dataSource.manager.count(WebhookEndpointRow)).toBe(1);
  });

  it('deletes an endpoint with its deliveries; an unknown id is NOT_FOUND', async () => {
    const created = await createEndpoint();
    await grant('deleted-hooks');
    await receiver.waitFor(() => receiver.received.length === 1);
    const remove = 'mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }';
    expect(dataOf(await server.gql(remove, { id: created.endpoint.id })).deleteWebhookEndpoint).toBe(true);
    expect(await server.dataSource.manager.count(WebhookDeliveryRow)).toBe(0);
    expect((await server.gql(remove, { id: created.endpoint.id })).errors?.[0].extensions?.code).toBe(
      'NOT_FOUND',
    );
    expect((await server.gql(DELIVERIES, { id: created.endpoint.id })).errors?.[0].extensions?.code).toBe(
      'NOT_FOUND',
    );
  });

  it('refuses a page size outside 1 to 1,000', async () => {
    const created = await createEndpoint();
    for (const first of [0, 1001]) {
      const response = await server.gql(DELIVERIES, { id: created.endpoint.id, first });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    }
  });
});

describe('webhook deliveries', () => {
  it('POSTs each event once, signed the Standard Webhooks way, in the contract shape', async () => {
    const { endpoint, secret } = await createEndpoint();
    const grantId = await grant('hooked-user');
    await receiver.waitFor(() => receiver.received.length === 1);

    const [request] = receiver.received;
    const payload = verified(secret, request);
    const [delivery] = await deliveriesOf(endpoint.id);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-id']).toBe(delivery.event.id);
    expect(payload).toEqual({
      id: delivery.event.id,
      type: 'ENTITLEMENT_GRANTED',
      occurredAt: expect.any(String),
      data: {
        userId: 'hooked-user',
        organizationId: null,
        feature: 'sso',
        grantId,
        fromTier: null,
        toTier: null,
        actor: 'admin',
        reason: 'webhook test',
        threshold: null,
      },
    });
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(
        request.body,
        request.headers as Record<string, string>,
      ),
    ).toThrow();
    expect(delivery).toMatchObject({
      status: 'DELIVERED',
      attempts: 1,
      lastStatusCode: 200,
      nextAttemptAt: null,
      deliveredAt: expect.any(String),
      event: { type: 'ENTITLEMENT_GRANTED', user: { id: 'hooked-user' }, feature: { key: 'sso' } },
    });
  });

  it('sends only the event types an endpoint asked for', async () => {
    const tiersOnly = await createEndpoint(['TIER_CHANGED']);
    const everything = await createEndpoint();
    await grant('filtered');
    dataOf(await server.gql('mutation { changeTier(userId: "filtered", tier: "team") { id } }'));
    await receiver.waitFor(() => receiver.received.length === 3);

    expect((await deliveriesOf(tiersOnly.endpoint.id)).map((d) => d.event.type)).toEqual(['TIER_CHANGED']);
    expect((await deliveriesOf(everything.endpoint.id)).map((d) => d.event.type)).toEqual([
      'TIER_CHANGED',
      'ENTITLEMENT_GRANTED',
    ]);
    const types = receiver.received.map((request) => JSON.parse(request.body).type);
    expect(types.sort()).toEqual(['ENTITLEMENT_GRANTED', 'TIER_CHANGED', 'TIER_CHANGED']);
  });

  it('retries a receiver that fails, with growing delays, until it recovers', async () => {
    const { endpoint, secret } = await createEndpoint();
    let failures = 0;
    receiver.answer = () => (failures++ < 3 ? 503 : 200);
    await grant('flaky-receiver');

    await receiver.waitFor(() => receiver.received.length === 1);
    const [pending] = await deliveriesOf(endpoint.id);
    expect(pending.status).toBe('PENDING');
    expect(pending.lastStatusCode).toBe(503);
    expect(pending.nextAttemptAt).not.toBeNull();

    await receiver.waitFor(() => receiver.accepted.length === 1);
    expect(receiver.received.map((request) => request.status)).toEqual([503, 503, 503, 200]);
    // Every attempt is signed afresh and verifies; the message id stays the same for deduplication.
    for (const request of receiver.received)
      expect(verified(secret, request).type).toBe('ENTITLEMENT_GRANTED');
    expect(new Set(receiver.received.map((request) => request.headers['webhook-id'])).size).toBe(1);
    const [delivered] = await deliveriesOf(endpoint.id);
    expect(delivered).toMatchObject({
      status: 'DELIVERED',
      attempts: 4,
      lastStatusCode: 200,
      nextAttemptAt: null,
    });
  });

  it('keeps deliveries while the receiver is down, and delivers them when it is back', async () => {
    const { endpoint, secret } = await createEndpoint();
    const port = receiver.port;
    await receiver.stop();
    await grant('receiver-down-1');
    await grant('receiver-down-2');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const pending = await deliveriesOf(endpoint.id);
    expect(pending.map((delivery) => delivery.status)).toEqual(['PENDING', 'PENDING']);
    expect(pending.every((delivery) => delivery.attempts >= 1 && delivery.lastStatusCode === null)).toBe(
      true,
    );

    await receiver.start(port);
    await receiver.waitFor(() => receiver.accepted.length === 2);
    const users = receiver.accepted.map((request) => verified(secret, request).data.userId).sort();
    expect(users).toEqual(['receiver-down-1', 'receiver-down-2']);
    expect((await deliveriesOf(endpoint.id)).map((delivery) => delivery.status)).toEqual([
      'DELIVERED',
      'DELIVERED',
    ]);
  });

  it('disables the endpoint when the receiver answers 410 Gone', async () => {
    const { endpoint } = await createEndpoint();
    receiver.answer = () => 410;
    await grant('gone-receiver');
    await receiver.waitFor(() => receiver.received.length === 1);
    await waitUntil(async () => (await deliveriesOf(endpoint.id))[0].status === 'FAILED');

    const [failed] = await deliveriesOf(endpoint.id);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: 410, nextAttemptAt: null });
    expect(dataOf(await server.gql('{ webhookEndpoints { enabled } }')).webhookEndpoints).toEqual([
      { enabled: false },
    ]);
    // A disabled endpoint gets no further deliveries.
    await grant('gone-receiver', 'audit');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(1);
    expect(await deliveriesOf(endpoint.id)).toHaveLength(1);
  });

  it('keeps delivering to others while one receiver hangs and another trickles its answer', async () => {
    const stuck = new Set<ServerResponse>();
    const slow = createServer((request, response) => {
      request.resume();
      stuck.add(response);
      // /drip answers 200 at once, then sends its body a byte at a time, forever; /hang never answers.
      if (request.url === '/drip') {
        response.writeHead(200);
        setInterval(() => response.write('.'), 200).unref();
      }
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const slowBase = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    try {
      await createEndpoint(undefined, `${slowBase}/hang`);
      const drip = await createEndpoint(undefined, `${slowBase}/drip`);
      await createEndpoint();
      for (let i = 0; i < 12; i += 1) await grant(`busy-${i}`);

      await receiver.waitFor(() => receiver.accepted.length === 12);
      // Everything reached the healthy receiver while the hanging one still holds its requests unanswered.
      expect([...stuck].filter((response) => !response.headersSent).length).toBeGreaterThan(0);
      await waitUntil(async () =>
        (await deliveriesOf(drip.endpoint.id)).every((delivery) => delivery.status === 'DELIVERED'),
      );
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  it('delivers overrides and usage alerts (with the threshold) to an endpoint that asked for them', async () => {
    const { secret } = await createEndpoint([
      'OVERRIDE_SET',
      'OVERRIDE_REMOVED',
      'OVERRIDE_EXPIRED',
      'USAGE_THRESHOLD_REACHED',
    ]);
    const userId = 'hooked-overrides';
    dataOf(
      await server.gql(
        'mutation { upsertFeature(input: { key: "hooked-calls", kind: METERED, alertThresholds: [50] }) { key } }',
      ),
    );
    const mutations = [
      'mutation($u: ID!) { setOverride(input: { userId: $u, feature: "sso", effect: DENY, reason: "abuse" }) { id } }',
      'mutation($u: ID!) { removeOverride(userId: $u, feature: "sso", reason: "appeal") { id } }',
      'mutation($u: ID!) { setOverride(input: { userId: $u, feature: "hooked-calls", effect: LIMIT, limit: 4 }) { id } }',
      'mutation($u: ID!) { recordUsage(input: { userId: $u, feature: "hooked-calls", amount: 2 }) { allowed } }',
    ];
    for (const mutation of mutations) dataOf(await server.gql(mutation, { u: userId }));
    dataOf(
      await server.gql(
        'mutation($u: ID!, $e: DateTime!) { setOverride(input: { userId: $u, feature: "theme", effect: VALUE, value: "dark", expiresAt: $e }) { id } }',
        { u: userId, e: new Date(Date.now() + 300).toISOString() },
      ),
    );

    await receiver.waitFor(() => receiver.accepted.length === 6);
    const payloads = receiver.accepted
      .map((request) => verified(secret, request))
      .sort((a, b) => Number(a.id) - Number(b.id));
    const data = { userId, organizationId: null, grantId: null, fromTier: null, toTier: null };
    expect(payloads.map(({ type, data }) => ({ type, data }))).toEqual([
      {
        type: 'OVERRIDE_SET',
        data: { ...data, feature: 'sso', actor: 'admin', reason: 'abuse', threshold: null },
      },
      {
        type: 'OVERRIDE_REMOVED',
        data: { ...data, feature: 'sso', actor: 'admin', reason: 'appeal', threshold: null },
      },
      {
        type: 'OVERRIDE_SET',
        data: { ...data, feature: 'hooked-calls', actor: 'admin', reason: null, threshold: null },
      },
      {
        type: 'USAGE_THRESHOLD_REACHED',
        data: { ...data, feature: 'hooked-calls', actor: 'admin', reason: null, threshold: 50 },
      },
      {
        type: 'OVERRIDE_SET',
        data: { ...data, feature: 'theme', actor: 'admin', reason: null, threshold: null },
      },
      {
        type: 'OVERRIDE_EXPIRED',
        data: { ...data, feature: 'theme', actor: 'system', reason: null, threshold: null },
      },
    ]);
  });

  it('stores no delivery for a mutation that was refused', async () => {
    await createEndpoint();
    const refused = await server.gql(
      'mutation { changeTier(userId: "nobody", tier: "no-such-tier") { id } }',
    );
    expect(refused.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(await server.dataSource.manager.count(WebhookDeliveryRow)).toBe(0);
  });
});

describe('webhook URLs where private addresses are not allowed (production default)', () => {
  const admin = authenticated('admin', [Scope.write], null);
  const production = () => new WebhookService(server.db, { allowPrivate: false });

  it.each([
    'http://127.0.0.1:9/x',
    'http://localhost/x',
    'http://[::1]/x',
    'http://10.0.0.1/x',
    'http://169.254.169.254/',
    'http://[64:ff9b::7f00:1]/x',
    'http://[::7f00:1]/x',
    'http://[2002:7f00:1::1]/x',
    'http://192.0.2.10/x',
  ])('refuses %s when the endpoint is created', async (url) => {
    await expect(production().create(admin, { url })).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'url' },
    });
  });

  it('refuses a host that does not resolve, and accepts a public address', async () => {
    await expect(production().create(admin, { url: 'https://no-such-host.invalid/x' })).rejects.toMatchObject(
      {
        extensions: { code: 'BAD_USER_INPUT', field: 'url' },
      },
    );
    const created = await production().create(admin, { url: 'https://93.184.216.34/hooks' });
    expect(created.endpoint.url).toBe('https://93.184.216.34/hooks');
  });

  it('checks the address again when delivering (a name may come to resolve to a private address)', async () => {
    for (const url of [receiverUrl, receiverUrl.replace('127.0.0.1', 'localhost')]) {
      const sent = await postOnce(url, {}, '{}', { allowPrivate: false });
      expect(sent).toEqual({ error: expect.stringMatching(/^refused: .*non-public address/) });
    }
    expect(receiver.received).toHaveLength(0);
    expect(await postOnce(receiverUrl, {}, '{}', { allowPrivate: true })).toEqual({ statusCode: 200 });
  });
});

describe('a restart with deliveries pending', () => {
  it('delivers them from the database after the restart', async () => {
    const env = {
      DATABASE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'webhooks-')), 'db.sqlite')}`,
      WEBHOOK_RETRY_BASE_MS: '200',
      SEED_CATALOG: 'true',
    };
    const admin = { authorization: `Bearer ${await mintToken('admin', ['entitlements:write'])}` };
    receiver.answer = () => 503;

    const first = spawnServer(env);
    const firstUrl = await waitUntilReady(first);
    const created = await postGraphQL<any>(firstUrl, CREATE, { url: receiverUrl }, admin);
    const secret = created.data.createWebhookEndpoint.secret as string;
    const users = ['restart-1', 'restart-2', 'restart-3'];
    for (const userId of users) {
      const granted = await postGraphQL<any>(
        firstUrl,
        'mutation($u: ID!) { changeTier(userId: $u, tier: "pro") { id } }',
        { u: userId },
        admin,
      );
      expect(granted.errors).toBeUndefined();
    }
    await receiver.waitFor(() => receiver.received.length >= users.length);
    expect(await first.stop()).toBe(0);
    expect(receiver.accepted).toHaveLength(0);

    receiver.answer = () => 200;
    const second = spawnServer(env);
    try {
      const secondUrl = await waitUntilReady(second);
      await receiver.waitFor(() => receiver.accepted.length === users.length);
      const delivered = receiver.accepted.map((request) => verified(secret, request).data.userId);
      expect(delivered.sort()).toEqual(users);
      const history = await postGraphQL<any>(
        secondUrl,
        DELIVERIES,
        { id: created.data.createWebhookEndpoint.endpoint.id },
        { authorization: `Bearer ${await mintToken('reader', ['entitlements:read'])}` },
      );
      expect(history.data.webhookDeliveries.map((delivery: any) => delivery.status)).toEqual([
        'DELIVERED',
        'DELIVERED',
        'DELIVERED',
      ]);
    } finally {
      await second.stop();
    }
  });
});

describe('pruning finished deliveries', () => {
  it('forgets DELIVERED and FAILED ones created before the cut-off, a thousand at a time, and never a PENDING one', async () => {
    const day = 24 * 60 * 60 * 1000;
    const { endpoint } = await createEndpoint();
    const delivery = (
      status: WebhookDeliveryRow['status'],
      ageDays: number,
    ): Partial<WebhookDeliveryRow> => ({
      endpointId: endpoint.id,
      eventId: 1,
      status,
      attempts: 1,
      lastStatusCode: null,
      lastError: null,
      // A pending one is not due for a day: the server's dispatcher would otherwise deliver it meanwhile.
      nextAttemptAt: status === 'PENDING' ? new Date(Date.now() + day) : null,
      deliveredAt: null,
      createdAt: new Date(Date.now() - ageDays * day),
    });
    const old = Array.from({ length: 2500 }, () => delivery('DELIVERED', 40));
    for (let i = 0; i < old.length; i += 500) {
      await server.dataSource.manager.insert(WebhookDeliveryRow, old.slice(i, i + 500));
    }
    await server.dataSource.manager.insert(WebhookDeliveryRow, [
      delivery('FAILED', 31),
      delivery('PENDING', 40),
      delivery('DELIVERED', 29),
    ]);
    const pruned = await new WebhookQueue(server.db).prune(new Date(Date.now() - 30 * day));
    expect(pruned).toBe(2501);
    const left = await server.dataSource.manager.find(WebhookDeliveryRow, { order: { id: 'ASC' } });
    expect(left.map((row) => row.status)).toEqual(['PENDING', 'DELIVERED']);
  });
});
