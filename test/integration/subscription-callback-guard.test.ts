import { CALLBACK_RETRY } from '../../src/server/callback-requests';
import type { TestServer } from '../testkit/server';
import { startTestServer } from '../testkit/server';
import { waitUntil } from '../testkit/wait';
import { WebhookReceiver } from '../testkit/webhook-receiver';

const SUBSCRIPTION = 'subscription { entitlementRevoked(userId: "cb-guard") { type } }';
const ROUTER_SECRET = 'router-secret-for-callbacks';

/** Asks for a callback subscription as the router would, with a short heartbeat. */
async function subscribeWithCallback(
  server: TestServer,
  callbackUrl: string,
  options: {
    token?: string | null;
    query?: string;
    headers?: Record<string, string>;
    id?: string;
    heartbeatIntervalMs?: number;
  } = {},
) {
  const {
    token = await server.token('router-user', ['entitlements:read']),
    query = SUBSCRIPTION,
    id = 'sub-guard',
    heartbeatIntervalMs = 20,
  } = options;
  const response = await fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({
      query,
      extensions: {
        subscription: { callbackUrl, subscriptionId: id, verifier: 'v', heartbeatIntervalMs },
      },
    }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const idOf = (request: { body: string }) => JSON.parse(request.body).id as string;

/**
 * The subscription ids of everything `receiver` got until a later, accepted subscription (at another path of
 * the same receiver) has had `messages` requests (a check and heartbeats): a heartbeat of `sub-guard` still running at 20 ms
 * would have arrived in between.
 */
async function idsUntilALaterSubscriptionBeats(
  server: TestServer,
  receiver: WebhookReceiver,
  headers: Record<string, string>,
  messages = 3,
): Promise<string[]> {
  receiver.answer = () => 200;
  const later = await subscribeWithCallback(server, `http://127.0.0.1:${receiver.port}/later`, {
    headers,
    id: 'sub-later',
  });
  expect(later.status).toBe(200);
  await receiver.waitFor(
    () => receiver.received.filter((request) => idOf(request) === 'sub-later').length >= messages,
  );
  return receiver.received.map(idOf);
}

describe('callback subscriptions', () => {
  let receiver: WebhookReceiver;
  let callbackUrl: string;
  beforeEach(async () => {
    receiver = new WebhookReceiver();
    callbackUrl = await receiver.start();
  });
  afterEach(() => receiver.stop());

  describe('on a server with the router secret, in development', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ env: { ROUTER_SECRET, CALLBACK_MIN_HEARTBEAT_MS: '20' } });
    });
    afterAll(() => server.stop());
    const fromRouter = { 'router-authorization': ROUTER_SECRET };

    it('sends nothing for a caller without a token, or with an invalid one', async () => {
      for (const token of [null, 'not-a-token']) {
        const { status, body } = await subscribeWithCallback(server, callbackUrl, {
          token,
          headers: fromRouter,
        });
        expect(status).toBe(401);
        expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      }
      // Apollo sends its `check` before it answers: had one been sent, it would have arrived.
      expect(receiver.received).toEqual([]);
      expect(await idsUntilALaterSubscriptionBeats(server, receiver, fromRouter)).not.toContain('sub-guard');
    });

    it('sends nothing for a caller with a token but without the router secret', async () => {
      const { status, body } = await subscribeWithCallback(server, callbackUrl);
      expect(status).toBe(401);
      expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(receiver.received).toEqual([]);
      expect(await idsUntilALaterSubscriptionBeats(server, receiver, fromRouter)).not.toContain('sub-guard');
    });

    it('refuses a subscription that cannot start in the answer, and no check or heartbeat follows', async () => {
      const scopeless = await server.token('someone', []);
      const { body } = await subscribeWithCallback(server, callbackUrl, {
        token: scopeless,
        headers: fromRouter,
      });
      expect(body.errors[0].extensions.code).toBe('FORBIDDEN');
      expect(receiver.received).toEqual([]);
      expect(await idsUntilALaterSubscriptionBeats(server, receiver, fromRouter)).not.toContain('sub-guard');
    });

    it('sends nothing for an operation that does not validate', async () => {
      const { body } = await subscribeWithCallback(server, callbackUrl, {
        headers: fromRouter,
        query: 'subscription { noSuchField }',
      });
      expect(body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(receiver.received).toEqual([]);
      expect(await idsUntilALaterSubscriptionBeats(server, receiver, fromRouter)).not.toContain('sub-guard');
    });

    it('does not follow a redirect from the callback URL, and keeps no heartbeat', async () => {
      const target = new WebhookReceiver();
      receiver.location = await target.start();
      receiver.answer = () => 302;
      try {
        const { status, body } = await subscribeWithCallback(server, callbackUrl, { headers: fromRouter });
        expect(status).toBe(500);
        expect(body.errors).toEqual([
          {
            message: 'The callback URL did not accept the subscription',
            extensions: { code: 'INTERNAL_SERVER_ERROR' },
          },
        ]);
        expect(receiver.received.map((request) => JSON.parse(request.body).action)).toEqual(['check']);
        const ids = await idsUntilALaterSubscriptionBeats(server, receiver, fromRouter);
        expect(ids.filter((id) => id === 'sub-guard')).toHaveLength(1);
        expect(target.received).toEqual([]);
      } finally {
        await target.stop();
      }
    });

    it('sends nothing for a subscription a later check refuses (the cost limit)', async () => {
      const thirty = (spread: string) => Array.from({ length: 30 }, () => spread).join(' ');
      const { status, body } = await subscribeWithCallback(server, callbackUrl, {
        headers: fromRouter,
        query: `subscription { licenseEvents { ${thirty('...A')} } }
          fragment A on LicenseEvent { user { ${thirty('...B')} } }
          fragment B on User { entitlements { ${thirty('...C')} } }
          fragment C on Entitlement { feature { key } grants { id } limit }`,
      });
      expect(status).toBe(400);
      expect(body.errors[0].message).toMatch(/cost limit/);
      expect(receiver.received).toEqual([]);
      expect(await idsUntilALaterSubscriptionBeats(server, receiver, fromRouter)).not.toContain('sub-guard');
    });

    it.each([
      ['a subscription id over 256 characters', { id: 'x'.repeat(257) }, 'subscriptionId'],
      ['a negative heartbeat interval', { heartbeatIntervalMs: -5 }, 'heartbeatIntervalMs'],
      // setInterval reads anything above 2^31 - 1 ms as 1 ms: a flood.
      ['a heartbeat interval of 2^31 ms', { heartbeatIntervalMs: 2 ** 31 }, 'heartbeatIntervalMs'],
    ])('refuses %s with BAD_USER_INPUT and sends nothing', async (_name, options, field) => {
      const { status, body } = await subscribeWithCallback(server, callbackUrl, {
        headers: fromRouter,
        ...options,
      });
      expect(status).toBe(400);
      expect(body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(receiver.received).toEqual([]);
    });

    it('ends a subscription whose receiver answers heartbeats slower than their interval, after five, and sends nothing more', async () => {
      const guardRequests = () => receiver.received.filter((request) => idOf(request) === 'sub-guard').length;
      // The check is answered at once; every heartbeat after it takes 200 ms, ten intervals.
      receiver.delayMs = ({ body }) => (JSON.parse(body).id === 'sub-guard' && guardRequests() > 1 ? 200 : 0);
      const { status } = await subscribeWithCallback(server, callbackUrl, { headers: fromRouter });
      expect(status).toBe(200);
      await receiver.waitFor(() => guardRequests() >= 6);
      // Half a second of a later subscription's heartbeats: a heartbeat still going would send two more.
      await idsUntilALaterSubscriptionBeats(server, receiver, fromRouter, 25);
      expect(guardRequests()).toBe(6);
    });

    it('still delivers to a callback URL that accepts, with its heartbeat', async () => {
      const { status } = await subscribeWithCallback(server, callbackUrl, { headers: fromRouter });
      expect(status).toBe(200);
      await receiver.waitFor(() => receiver.received.length >= 3);
      expect(receiver.received.map((request) => JSON.parse(request.body).action).slice(0, 3)).toEqual([
        'check',
        'check',
        'check',
      ]);
    });
  });

  describe('with CALLBACK_MAX_SUBSCRIPTIONS_PER_IDENTITY=2', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({
        env: { CALLBACK_MAX_SUBSCRIPTIONS_PER_IDENTITY: '2', CALLBACK_MIN_HEARTBEAT_MS: '20' },
      });
    });
    afterAll(() => server.stop());

    /** As a router calls back: a URL of its own for each subscription. */
    const subscribeAs = (token: string, id: string) =>
      subscribeWithCallback(server, `${callbackUrl}/${id}`, { token, id });

    it('refuses a third callback subscription of one identity with 429, sending nothing, and takes one once a slot frees', async () => {
      const token = await server.token('router-user', ['entitlements:read']);
      const ended = new Set<string>();
      receiver.answer = (request) =>
        idOf(request) === 'failing' ? 500 : ended.has(idOf(request)) ? 404 : 204;
      // A subscription whose check fails gives its slot back.
      expect((await subscribeAs(token, 'failing')).status).toBe(500);
      for (const id of ['one', 'two']) expect((await subscribeAs(token, id)).status).toBe(200);
      const third = await subscribeAs(token, 'three');
      expect(third.status).toBe(429);
      expect(third.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(receiver.received.map(idOf)).not.toContain('three');
      const other = await server.token('someone-else', ['entitlements:read']);
      expect((await subscribeAs(other, 'other')).status).toBe(200);

      ended.add('one');
      await receiver.waitFor(() => receiver.received.some((request) => request.status === 404));
      expect((await subscribeAs(token, 'three')).status).toBe(200);
    });

    it('gives the slot back when Apollo gives up on an event the receiver failed on every retry', async () => {
      const token = await server.token('failing-receiver', ['entitlements:read']);
      // Heartbeats keep succeeding; every event for one subscription fails, as from a router that lost it.
      receiver.answer = (request) =>
        JSON.parse(request.body).action === 'next' && idOf(request) === 'lost' ? 500 : 204;
      for (const id of ['lost', 'kept']) expect((await subscribeAs(token, id)).status).toBe(200);
      expect((await subscribeAs(token, 'waiting')).status).toBe(429);
      const nexts = () =>
        receiver.received.filter(
          (request) => JSON.parse(request.body).action === 'next' && idOf(request) === 'lost',
        );
      // Apollo's plugin opens a stream after its check: revoked again until the first event is on its way.
      await waitUntil(
        async () => {
          await server.gql('mutation { restoreLicense(userId: "cb-guard") { id } }');
          await server.gql('mutation { revokeLicense(userId: "cb-guard", reason: "test") { id } }');
          await new Promise((resolve) => setTimeout(resolve, 200));
          return nexts().length > 0;
        },
        { what: 'an event for the failing subscription' },
      );
      // One attempt and five retries (about 2.5 s of back-off), then the plugin ends it and the slot is free.
      await waitUntil(async () => (await subscribeAs(token, 'waiting')).status === 200, {
        what: 'a slot freed by the abandoned subscription',
        timeoutMs: 15_000,
        intervalMs: 200,
      });
      expect(nexts().length).toBeGreaterThanOrEqual(CALLBACK_RETRY.retries + 1);
    });

    it('refuses a second subscription on a callback URL that serves an open one, whatever its id: it would escape the count', async () => {
      const token = await server.token('url-reuser', ['entitlements:read']);
      receiver.answer = () => 204;
      const url = `${callbackUrl}/shared`;
      expect((await subscribeWithCallback(server, url, { token, id: 'first' })).status).toBe(200);
      for (const id of ['first', 'second']) {
        const again = await subscribeWithCallback(server, url, { token, id });
        expect(again.status).toBe(400);
        expect(again.body.errors[0].extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          field: 'callbackUrl',
        });
      }
      // Its slots are the identity's two: one open, and one more on another URL; a third is refused.
      expect((await subscribeWithCallback(server, `${url}-2`, { token, id: 'third' })).status).toBe(200);
      expect((await subscribeWithCallback(server, `${url}-3`, { token, id: 'fourth' })).status).toBe(429);
      // Events reach each open subscription, never a refused one. Apollo's plugin opens a stream after its check, so
      // a revocation before that reaches nobody: the license is restored and revoked again until both have one.
      const nextIds = () =>
        new Set(receiver.received.filter((request) => JSON.parse(request.body).action === 'next').map(idOf));
      await waitUntil(
        async () => {
          await server.gql('mutation { restoreLicense(userId: "cb-guard") { id } }');
          await server.gql('mutation { revokeLicense(userId: "cb-guard", reason: "test") { id } }');
          await new Promise((resolve) => setTimeout(resolve, 200));
          return nextIds().size >= 2;
        },
        { what: 'a next to both open subscriptions' },
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect([...nextIds()].sort()).toEqual(['first', 'third']);
    });
  });

  describe('with CALLBACK_URL_PREFIXES', () => {
    it('calls back only under a listed prefix, private or not, while webhooks keep WEBHOOK_ALLOW_PRIVATE=false', async () => {
      // The receiver's port is known only now, so this server is the test's own.
      const allowed = `http://127.0.0.1:${receiver.port}/router/`;
      const server = await startTestServer({
        env: { CALLBACK_URL_PREFIXES: allowed, WEBHOOK_ALLOW_PRIVATE: 'false' },
      });
      try {
        const elsewhere = await subscribeWithCallback(server, callbackUrl, { id: 'elsewhere' });
        expect(elsewhere.status).toBe(400);
        expect(elsewhere.body.errors[0].extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          field: 'callbackUrl',
        });
        const lookalike = await subscribeWithCallback(server, allowed.replace(/\/$/, 'x/'), {
          id: 'lookalike',
        });
        expect(lookalike.status).toBe(400);
        expect(receiver.received).toEqual([]);
        expect((await subscribeWithCallback(server, `${allowed}sub-1`, { id: 'listed' })).status).toBe(200);
        expect(receiver.received.map(idOf)).toContain('listed');
        const webhook = await server.gql(
          'mutation($url: String!) { createWebhookEndpoint(url: $url) { secret } }',
          { url: allowed },
        );
        expect(webhook.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
      } finally {
        await server.stop();
      }
    });
  });

  describe('with CALLBACK_MIN_HEARTBEAT_MS=300', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ env: { CALLBACK_MIN_HEARTBEAT_MS: '300' } });
    });
    afterAll(() => server.stop());

    it('raises a heartbeat interval of 1 ms to 300 ms', async () => {
      const arrivals: number[] = [];
      receiver.answer = () => {
        arrivals.push(Date.now());
        return 204;
      };
      const { status } = await subscribeWithCallback(server, callbackUrl, { heartbeatIntervalMs: 1 });
      expect(status).toBe(200);
      await receiver.waitFor(() => arrivals.length >= 4);
      const gaps = arrivals.slice(2).map((at, i) => at - arrivals[i + 1]);
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(250);
    });
  });

  describe('on a server where callbacks may not reach private addresses', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ env: { WEBHOOK_ALLOW_PRIVATE: 'false' } });
    });
    afterAll(() => server.stop());

    it('refuses a loopback callback URL without sending anything, and keeps no heartbeat', async () => {
      const { status, body } = await subscribeWithCallback(server, callbackUrl);
      expect(status).toBe(500);
      expect(body.errors[0].message).toBe('The callback URL did not accept the subscription');
      expect(receiver.received).toEqual([]);
    });
  });
});
