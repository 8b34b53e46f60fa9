import { loadOrCreateDevKey } from '../../src/auth/dev-keys';
import { signDevToken } from '../../src/auth/dev-tokens';
import type { TestServer } from '../testkit/server';
import { startTestServer } from '../testkit/server';
import { openSocket } from '../testkit/subscriptions';
import { TEST_DEV_KEY_FILE } from '../testkit/workers';

/**
 * jose accepts any number as `exp`; one past Date's range made the socket's expiry timer NaN, which fires
 * every millisecond and re-arms itself forever. Such a token is refused on both transports.
 */

describe('a token whose exp is not a representable date', () => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer();
    // Date's range ends 8.64e15 ms after 1970, i.e. at exp 8.64e12.
    token = await signDevToken(await loadOrCreateDevKey(TEST_DEV_KEY_FILE), {
      sub: 'far-future',
      scopes: ['entitlements:read'],
      ttlSeconds: 1e13,
    });
  });
  afterAll(() => server.stop());

  it('gets no socket: it is closed with 4401', async () => {
    const socket = openSocket(server.wsUrl, { connectionParams: { authorization: `Bearer ${token}` } });
    try {
      expect((await socket.closed).code).toBe(4401);
    } finally {
      await socket.close();
    }
  });

  it('is refused over HTTP with UNAUTHENTICATED naming the exp claim', async () => {
    const response = await server.gqlAs(token, '{ features { key } }');
    expect(response.errors?.map((error) => [error.extensions.code, error.message])).toEqual([
      ['UNAUTHENTICATED', 'The token\'s "exp" claim is not accepted'],
    ]);
  });
});
