import { createTestCatalog } from '../testkit/catalog';
import { expectAnswered, expectRefused, post, send } from '../testkit/http';
import type { TestServer } from '../testkit/server';
import { ADMIN_SCOPES, startTestServer } from '../testkit/server';

/** Apollo's CSRF prevention: a request a browser could send cross-site without a preflight is refused. */
describe('CSRF prevention', () => {
  let server: TestServer;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer();
    await createTestCatalog(server);
    admin = await server.token('admin', ADMIN_SCOPES);
  });
  afterAll(() => server.stop());

  const getUrl = (query: string) => `${server.url}?query=${encodeURIComponent(query)}`;

  it('refuses a simple GET /graphql?query={__typename} (no preflight header, no content type)', async () => {
    const reply = await send(getUrl('{__typename}'), { headers: { authorization: `Bearer ${admin}` } });
    expectRefused(reply, 400, 'BAD_REQUEST');
    expect(reply.body?.errors?.[0].message).toMatch(/CSRF/);
  });

  it('refuses a POST with the simple content type text/plain', async () => {
    const reply = await post(
      server.url,
      { query: '{ __typename }' },
      {
        token: admin,
        headers: { 'content-type': 'text/plain' },
      },
    );
    expectRefused(reply, 400, 'BAD_REQUEST');
  });

  it('answers the same GET with apollo-require-preflight: true and a valid token', async () => {
    const reply = await send(getUrl('{ __typename features { key } }'), {
      headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${admin}` },
    });
    const data = expectAnswered(reply);
    expect(data.__typename).toBe('Query');
    expect(data.features.map((feature: { key: string }) => feature.key)).toContain('api');
  });
});
