import { createTestCatalog } from '../testkit/catalog';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

/**
 * Issue 12 item 9: MySQL stores an unpaired surrogate as U+FFFD, so "x\ud800" and "x\udfff" would be one
 * identity there (and a key or reason would not read back as written). Such text is refused as bad input
 * wherever it comes in; the JSON request body carries it as the escape `\ud800`.
 */
describe('text with an unpaired surrogate', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
    await createTestCatalog(server);
  });
  afterAll(() => server.stop());

  const GRANT =
    'mutation($input: GrantEntitlementInput!) { grantEntitlement(input: $input) { id user { id } } }';
  const EVENTS = '{ licenseEvents(first: 1000) { events { id } } }';
  const errorOf = (response: { errors?: { extensions: Record<string, unknown> }[] }) =>
    response.errors?.[0]?.extensions;

  it.each(['x\ud800', 'x\udfff'])(
    'refuses the user id %j in a mutation, a read and a subscription filter',
    async (userId) => {
      const before = dataOf(await server.gql(EVENTS));
      expect(errorOf(await server.gql(GRANT, { input: { userId, feature: 'sso' } }))).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'userId',
      });
      expect(
        errorOf(
          await server.gql('mutation($u: ID!) { revokeLicense(userId: $u, reason: "r") { id } }', {
            u: userId,
          }),
        ),
      ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userId' });
      expect(
        errorOf(
          await server.gql(
            'query($u: ID!) { _entities(representations: [{ __typename: "User", id: $u }]) { ... on User { tier { key } } } }',
            {
              u: userId,
            },
          ),
        ),
      ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
      expect(
        errorOf(
          await server.gql('query($u: ID!) { licenseEvents(userId: $u) { events { id } } }', { u: userId }),
        ),
      ).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'userId',
      });
      expect(dataOf(await server.gql(EVENTS))).toEqual(before);
    },
  );

  it('refuses such a reason and idempotency key, and accepts a character outside the BMP', async () => {
    expect(
      errorOf(await server.gql(GRANT, { input: { userId: 'u1', feature: 'sso', reason: 'why\ud800' } })),
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason' });
    expect(
      errorOf(
        await server.gql(GRANT, { input: { userId: 'u1', feature: 'sso', idempotencyKey: 'k\udfff' } }),
      ),
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'idempotencyKey' });
    const granted = dataOf(
      await server.gql(GRANT, { input: { userId: 'x\ud83d\ude00', feature: 'sso', reason: '😀' } }),
    );
    expect(granted.grantEntitlement.user.id).toBe('x😀');
  });

  it('does not authenticate a token whose subject has one', async () => {
    const token = await server.token('x\ud800', ['entitlements:read']);
    const response = await server.gqlAs(token, '{ features { key } }');
    expect(errorOf(response)).toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
