import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { createTestCatalog } from '../testkit/catalog';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';
import { untilSubscribed } from '../testkit/subscriptions';
import { waitUntil } from '../testkit/wait';

/** A router's callback endpoint: it answers checks and heartbeats as the protocol asks and keeps what arrives. */
async function startCallbackReceiver() {
  const messages: any[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const message = JSON.parse(body);
      messages.push(message);
      res.setHeader('subscription-protocol', 'callback/1.0');
      res.statusCode = message.action === 'check' || message.action === 'heartbeat' ? 204 : 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("the router's HTTP callback mode", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await createTestCatalog(server);
  });
  afterAll(() => server.stop());

  it('delivers subscription events to the callback URL', async () => {
    const receiver = await startCallbackReceiver();
    try {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await server.token('router-user', ['entitlements:read'])}`,
        },
        body: JSON.stringify({
          query: 'subscription { entitlementRevoked(userId: "cb-1") { type user { id } } }',
          extensions: {
            subscription: {
              callbackUrl: receiver.url,
              subscriptionId: 'sub-1',
              verifier: 'secret-verifier',
              heartbeatIntervalMs: 0,
            },
          },
        }),
      });
      expect(response.status).toBe(200);
      await untilSubscribed(() => server.live.feed.listenerCount, 1);
      dataOf(await server.gql('mutation { revokeLicense(userId: "cb-1", reason: "fraud") { id } }'));
      await waitUntil(() => receiver.messages.some((m) => m.action === 'next'), { timeoutMs: 4000 });
      expect(receiver.messages[0]).toMatchObject({
        kind: 'subscription',
        action: 'check',
        id: 'sub-1',
        verifier: 'secret-verifier',
      });
      const next = receiver.messages.find((m) => m.action === 'next');
      expect(next).toMatchObject({
        id: 'sub-1',
        verifier: 'secret-verifier',
        payload: { data: { entitlementRevoked: { type: 'LICENSE_REVOKED', user: { id: 'cb-1' } } } },
      });
    } finally {
      await receiver.close();
    }
  });

  it('ends the subscription when the token that opened it expires: complete, and no later event', async () => {
    const receiver = await startCallbackReceiver();
    const listenersBefore = server.live.feed.listenerCount;
    try {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await server.token('short-lived', ['entitlements:read'], 2)}`,
        },
        body: JSON.stringify({
          query: 'subscription { licenseEvents(userId: "cb-2") { type } }',
          extensions: {
            subscription: {
              callbackUrl: receiver.url,
              subscriptionId: 'sub-2',
              verifier: 'v',
              heartbeatIntervalMs: 0,
            },
          },
        }),
      });
      expect(response.status).toBe(200);
      await untilSubscribed(() => server.live.feed.listenerCount, listenersBefore + 1);
      await waitUntil(() => receiver.messages.some((m) => m.action === 'complete'), { timeoutMs: 6000 });
      expect(server.live.feed.listenerCount).toBe(listenersBefore);
      dataOf(await server.gql('mutation { revokeLicense(userId: "cb-2", reason: "late") { id } }'));
      expect(receiver.messages.map((m) => m.action)).toEqual(['check', 'complete']);
    } finally {
      await receiver.close();
    }
  });
});
