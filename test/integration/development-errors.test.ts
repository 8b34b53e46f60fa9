import type { TestServer } from '../testkit/server';
import { startTestServer } from '../testkit/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ seedCatalog: true, env: { NODE_ENV: 'development' } });
});
afterAll(() => server.stop());

describe('errors in development', () => {
  it.each([
    ['UNAUTHENTICATED', null, '{ tiers { key } }'],
    ['FORBIDDEN', 'reader', 'mutation { revokeLicense(userId: "u1", reason: "x") { id } }'],
    ['BAD_USER_INPUT', 'admin', 'mutation { changeTier(userId: "", tier: "pro") { id } }'],
    ['NOT_FOUND', 'admin', 'mutation { changeTier(userId: "u1", tier: "no-such-tier") { id } }'],
    ['GRAPHQL_VALIDATION_FAILED', 'admin', '{ tiers { nope } }'],
  ])(
    'a %s error carries no stack trace: it is the caller who must act, not a bug',
    async (code, who, query) => {
      const token =
        who === null ? null : await server.token(who, who === 'admin' ? ['entitlements:write'] : []);
      const { errors } = await server.gqlAs(token, query);
      expect(errors?.[0].extensions.code).toBe(code);
      expect(errors?.[0].extensions).not.toHaveProperty('stacktrace');
    },
  );
});
