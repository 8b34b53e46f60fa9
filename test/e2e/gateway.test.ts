import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

import { createTestCatalog } from '../testkit/catalog';
import type { TestServer } from '../testkit/server';
import { dataOf, postGraphQL, startTestServer } from '../testkit/server';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startUsersSubgraph } = require('../../examples/users-subgraph/server.js');

/** As the README's @apollo/gateway section: composed from each subgraph's `_service { sdl }` over HTTP. */
function gatewayFor(
  subgraphs: { name: string; url: string }[],
  onSend?: (name: string, query: string) => void,
) {
  return new ApolloGateway({
    supergraphSdl: new IntrospectAndCompose({ subgraphs }),
    buildService: ({ name, url }) =>
      new RemoteGraphQLDataSource<GatewayContext>({
        url,
        willSendRequest({ request, context }) {
          if (context.authorization) request.http?.headers.set('authorization', context.authorization);
          onSend?.(name, request.query ?? '');
        },
      }),
  });
}

interface GatewayContext {
  authorization?: string;
}

/**
 * Frontends never call the subgraph directly: these tests go through @apollo/gateway, composed from this
 * subgraph (its own HTTP server, with FEDERATION_AUTH_DIRECTIVES=false: @apollo/gateway refuses the
 * `for: SECURITY` features) and the demo users subgraph. Every access rule below is the subgraph's own.
 */
describe('through @apollo/gateway, with FEDERATION_AUTH_DIRECTIVES=false', () => {
  let server: TestServer;
  let users: { url: string; stop(): Promise<void> };
  let gateway: ApolloServer<GatewayContext>;
  let gatewayUrl: string;
  /** Operations the gateway sent to this subgraph. */
  const sentToEntitlements: string[] = [];
  let admin: string;

  const query = (text: string, token?: string, variables?: Record<string, unknown>) =>
    postGraphQL<any>(gatewayUrl, text, variables, token ? { authorization: `Bearer ${token}` } : {});

  beforeAll(async () => {
    // Only the requests' own statements should be counted below.
    server = await startTestServer({
      backgroundJobs: false,
      env: { FEDERATION_AUTH_DIRECTIVES: 'false' },
    });
    await createTestCatalog(server);
    users = await startUsersSubgraph({ port: 0, count: 200 });
    gateway = new ApolloServer<GatewayContext>({
      gateway: gatewayFor(
        [
          { name: 'users', url: users.url },
          { name: 'entitlements', url: server.url },
        ],
        (name, sent) => {
          if (name === 'entitlements') sentToEntitlements.push(sent);
        },
      ),
    });
    ({ url: gatewayUrl } = await startStandaloneServer(gateway, {
      listen: { port: 0 },
      context: async ({ req }) => ({ authorization: req.headers.authorization }),
    }));
    admin = await server.token('admin', ['entitlements:read', 'entitlements:write']);
  }, 30_000);

  afterAll(async () => {
    await gateway?.stop();
    await users?.stop();
    await server?.stop();
  });

  it('joins the users subgraph with this one in one query', async () => {
    dataOf(await query('mutation { changeTier(userId: "user-7", tier: "team") { id } }', admin));
    const token = await server.token('user-7');
    const { user } = dataOf(
      await query(
        '{ user(id: "user-7") { email tier { key } entitlements { feature { key } limit remaining } } }',
        token,
      ),
    );
    expect(user).toEqual({
      email: 'user-7@example.com',
      tier: { key: 'team' },
      entitlements: [
        { feature: { key: 'api' }, limit: 1000, remaining: 1000 },
        { feature: { key: 'audit' }, limit: null, remaining: null },
        { feature: { key: 'seats' }, limit: 10, remaining: 10 },
        { feature: { key: 'theme' }, limit: null, remaining: null },
      ],
    });
  });

  it('answers 200 users with one _entities request and a constant number of SQL statements', async () => {
    const countFor = async (text: string) => {
      sentToEntitlements.length = 0;
      const before = server.queries.count;
      const data = dataOf(await query(text, admin));
      return { data, statements: server.queries.count - before, requests: [...sentToEntitlements] };
    };
    const one = await countFor('{ user(id: "user-3") { id hasEntitlement(feature: "api") } }');
    const many = await countFor('{ users { id name hasEntitlement(feature: "api") } }');
    expect(many.data.users).toHaveLength(200);
    expect(many.data.users.every((u: any) => u.hasEntitlement === true)).toBe(true);
    expect(many.requests).toHaveLength(1);
    expect(many.requests[0]).toContain('_entities');
    expect(many.statements).toBe(one.statements);
    expect(many.statements).toBeLessThanOrEqual(12);
  });

  it('forwards the caller’s token with mutations', async () => {
    const { grantEntitlement } = dataOf(
      await query(
        'mutation { grantEntitlement(input: { userId: "user-9", feature: "sso" }) { grantedBy user { email } } }',
        admin,
      ),
    );
    expect(grantEntitlement).toEqual({ grantedBy: 'admin', user: { email: 'user-9@example.com' } });
  });

  it('surfaces UNAUTHENTICATED and FORBIDDEN with their codes', async () => {
    const anonymous = await query('{ user(id: "user-1") { email tier { key } } }');
    expect(anonymous.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    const otherUser = await query(
      '{ user(id: "user-1") { email tier { key } } }',
      await server.token('user-2'),
    );
    expect(otherUser.errors?.[0].extensions.code).toBe('FORBIDDEN');
    const withoutScope = await query(
      'mutation { revokeLicense(userId: "user-1", reason: "x") { id } }',
      await server.token('user-2'),
    );
    expect(withoutScope.errors?.[0].extensions.code).toBe('FORBIDDEN');
  });
});

describe('@apollo/gateway with the default FEDERATION_AUTH_DIRECTIVES=true', () => {
  it('refuses to compose: it does not support the `for: SECURITY` features', async () => {
    const server = await startTestServer({ seedCatalog: false });
    const users = await startUsersSubgraph({ port: 0, count: 1 });
    const gateway = gatewayFor([
      { name: 'users', url: users.url },
      { name: 'entitlements', url: server.url },
    ]);
    try {
      await expect(gateway.load()).rejects.toThrow(
        'feature https://specs.apollo.dev/authenticated/v0.1 is for: SECURITY but is unsupported',
      );
    } finally {
      await users.stop();
      await server.stop();
    }
  });
});

describe('federated tracing', () => {
  it('returns an inline trace when the router asks for one', async () => {
    const server = await startTestServer();
    try {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'apollo-federation-include-trace': 'ftv1',
          authorization: `Bearer ${await server.token('reader', ['entitlements:read'])}`,
        },
        body: JSON.stringify({ query: '{ features { key } }' }),
      });
      const body = (await response.json()) as { extensions?: { ftv1?: string } };
      expect(typeof body.extensions?.ftv1).toBe('string');
      expect(Buffer.from(body.extensions?.ftv1 ?? '', 'base64').length).toBeGreaterThan(10);
    } finally {
      await server.stop();
    }
  });
});
