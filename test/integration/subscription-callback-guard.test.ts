import { startTestServer } from '../testkit/server';
import type { TestServer } from '../testkit/server';
import { WebhookReceiver } from '../testkit/webhook-receiver';

const SUBSCRIPTION = 'subscription { entitlementRevoked(userId: "cb-guard") { type } }';
const ROUTER_SECRET = 'router-secret-for-callbacks';

/** Asks for a callback subscription as the router would, with a short heartbeat. */
async function subscribeWithCallback(
  server: TestServer,
  callbackUrl: string,
  options: { token?: string | null; query?: string; headers?: Record<string, string>; id?: string } = {},
) {
  const {
    token = await server.token('router-user', ['entitlements:read']),
    query = SUBSCRIPTION,
    id = 'sub-guard',
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
        subscription: { callbackUrl, subscriptionId: id, verifier: 'v', heartbeatIntervalMs: 20 },
      },
    }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const idOf = (request: { body: string }) => JSON.parse(request.body).id as string;

/**
 * The subscription ids of everything `receiver` got until a later, accepted subscription (at another path of
 * the same receiver) has had its check and two heartbeats: a heartbeat of `sub-guard` still running at 20 ms
 * would have arrived in between.
 */
async function idsUntilALaterSubscriptionBeats(
  server: TestServer,
  receiver: WebhookReceiver,
  headers: Record<string, string>,
): Promise<string[]> {
  receiver.answer = () => 200;
  const later = await subscribeWithCallback(server, `http://127.0.0.1:${receiver.port}/later`, {
    headers,
    id: 'sub-later',
  });
  expect(later.status).toBe(200);
  await receiver.waitFor(
    () => receiver.received.filter((request) => idOf(request) === 'sub-later').length >= 3,
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
      server = await startTestServer({ env: { ROUTER_SECRET } });
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
