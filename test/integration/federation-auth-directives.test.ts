import { printSubgraphSdl } from '../../src/graphql/schema';
import type { TestServer } from '../testkit/server';
import { dataOf, postGraphQL, startTestServer } from '../testkit/server';

/** For gateways that refuse `for: SECURITY` features: the SDL leaves the directives out, the rules stay. */
describe('FEDERATION_AUTH_DIRECTIVES=false', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { FEDERATION_AUTH_DIRECTIVES: 'false' } });
  });
  afterAll(() => server.stop());

  it('serves an SDL without @authenticated and @requiresScopes; the printer leaves them out too', async () => {
    const { sdl } = dataOf(await postGraphQL<any>(server.url, '{ _service { sdl } }'))._service;
    // Only @apollo/subgraph's namespaced definitions (@federation__authenticated ...) remain, unused.
    expect(sdl).not.toMatch(/@authenticated|@requiresScopes/);
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])');
    expect(await printSubgraphSdl()).toMatch(/features: \[Feature!\]! @authenticated/);
    expect(await printSubgraphSdl({ authDirectives: false })).toMatch(/features: \[Feature!\]!\n/);
  });

  it('still enforces what the directives declared: UNAUTHENTICATED without a token, FORBIDDEN without scope', async () => {
    const anonymous = await server.gqlAs(null, '{ features { key } }');
    expect(anonymous.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    const withoutScope = await server.gqlAs(
      await server.token('user-2'),
      'mutation { revokeLicense(userId: "user-1", reason: "x") { id } }',
    );
    expect(withoutScope.errors?.[0].extensions.code).toBe('FORBIDDEN');
  });
});
