import { expectAnswered, expectRefused, post, send } from '../testkit/http';
import type { TestServer } from '../testkit/server';
import { ADMIN_SCOPES, startTestServer } from '../testkit/server';

/** With ROUTER_SECRET set, only requests carrying it in router-authorization reach GraphQL over HTTP. */
describe('ROUTER_SECRET', () => {
  let server: TestServer;
  let admin: string;
  const query = { query: '{ __typename features { key } }' };

  beforeAll(async () => {
    server = await startTestServer({ env: { ROUTER_SECRET: 's3cret' } });
    admin = await server.token('admin', ADMIN_SCOPES);
  });
  afterAll(() => server.stop());

  it.each([
    ['without router-authorization', {}],
    ['with an empty router-authorization', { 'router-authorization': '' }],
    ['with a wrong router-authorization of the same length', { 'router-authorization': 's3creT' }],
    ['with a longer router-authorization', { 'router-authorization': 's3cret!' }],
    ['with the secret as a bearer value', { 'router-authorization': 'Bearer s3cret' }],
  ])('refuses a GraphQL request %s with HTTP 401, even with a valid token', async (_name, headers) => {
    const reply = await post(server.url, query, { token: admin, headers });
    expectRefused(reply, 401, 'UNAUTHENTICATED');
  });

  it('refuses a GET (with CSRF preflight) without router-authorization with HTTP 401', async () => {
    const reply = await send(`${server.url}?query=${encodeURIComponent('{__typename}')}`, {
      headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${admin}` },
    });
    expectRefused(reply, 401, 'UNAUTHENTICATED');
  });

  it('answers with the right router-authorization', async () => {
    const reply = await post(server.url, query, {
      token: admin,
      headers: { 'router-authorization': 's3cret' },
    });
    expect(expectAnswered(reply).__typename).toBe('Query');
  });

  it('still answers /healthz with 200 without it', async () => {
    const reply = await send(server.url.replace(/\/graphql$/, '/healthz'));
    expect(reply.status).toBe(200);
  });
});
