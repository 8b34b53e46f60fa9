import { createTestCatalog } from '../testkit/catalog';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

/** `depth` arrays, each holding the next: [[[...]]]. Built by hand: JSON.stringify itself would overflow. */
const nestedArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/**
 * Issue 12 item 15: a deeply nested JSON value (the probe sent 100,000 levels) overflowed the stack
 * while its size was measured, an internal error. Nesting is bounded (32 levels), as bad input.
 */
describe('deeply nested JSON values', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
    await createTestCatalog(server);
  });
  afterAll(() => server.stop());

  /** The grant mutation with `value` sent as a variable, the body written by hand. */
  const grantWithValue = async (valueJson: string) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await server.token('admin', ['entitlements:read', 'entitlements:write'])}`,
      },
      body: `{"query":"mutation($v: JSON) { grantEntitlement(input: { userId: \\"deep\\", feature: \\"theme\\", value: $v }) { value } }","variables":{"v":${valueJson}}}`,
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  it.each([100_000, 33])('refuses %d levels as BAD_USER_INPUT naming the field', async (depth) => {
    const { body } = await grantWithValue(nestedArrays(depth));
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'value' });
  });

  it('refuses nested objects the same way, and tiers too', async () => {
    const deepObject = `${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}`;
    expect((await grantWithValue(deepObject)).body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'value',
    });
    const tier = await server.gql('mutation($input: TierInput!) { upsertTier(input: $input) { key } }', {
      input: {
        key: 'deep',
        name: 'Deep',
        rank: 1,
        entitlements: [{ feature: 'theme', value: JSON.parse(nestedArrays(40)) }],
      },
    });
    expect(tier.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'entitlements[0].value',
    });
  });

  it('refuses the same written in the query itself', async () => {
    const tooDeep = await server.gql(
      `mutation { grantEntitlement(input: { userId: "deep", feature: "theme", value: ${nestedArrays(100_000)} }) { id } }`,
    );
    expect(tooDeep.errors).toHaveLength(1);
    expect(tooDeep.errors?.[0]?.extensions.code).not.toBe('INTERNAL_SERVER_ERROR');
    const deep = await server.gql(
      `mutation { grantEntitlement(input: { userId: "deep", feature: "theme", value: ${nestedArrays(33)} }) { id } }`,
    );
    expect(deep.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'value' });
  });

  it('accepts 32 levels', async () => {
    const { body } = await grantWithValue(nestedArrays(32));
    expect(dataOf<any>(body).grantEntitlement.value).toEqual(JSON.parse(nestedArrays(32)));
  });
});
