import { createTestCatalog } from '../testkit/catalog';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await createTestCatalog(server);
});
afterAll(() => server.stop());

/** Everything a rejected mutation could have touched, to show that it touched nothing. */
async function snapshot(): Promise<unknown> {
  return dataOf(
    await server.gql(`{
      features { key kind description usagePeriod }
      tiers { key name rank entitlements { feature { key } limit value } }
      licenseEvents(first: 1000) { events { id } }
    }`),
  );
}

const future = new Date(Date.now() + 86_400_000).toISOString();
const later = new Date(Date.now() + 2 * 86_400_000).toISOString();
const past = '2001-01-01T00:00:00.000Z';
const bigJson = { blob: 'x'.repeat(16 * 1024) };

const grant = (input: Record<string, unknown>) => ({
  query: 'mutation($input: GrantEntitlementInput!) { grantEntitlement(input: $input) { id } }',
  variables: { input: { userId: 'u', feature: 'api', ...input } },
});
const tier = (input: Record<string, unknown>) => ({
  query: 'mutation($input: TierInput!) { upsertTier(input: $input) { key } }',
  variables: { input: { key: 'new-tier', name: 'New', rank: 5, entitlements: [], ...input } },
});
const feature = (input: Record<string, unknown>) => ({
  query: 'mutation($input: FeatureInput!) { upsertFeature(input: $input) { key } }',
  variables: { input: { key: 'new-feature', kind: 'BOOLEAN', ...input } },
});
const VARIABLE_TYPES: Record<string, string> = {
  userId: 'ID!',
  tier: 'ID!',
  endsAt: 'DateTime!',
  reason: 'String',
};
/** A user mutation declaring exactly the variables its text uses. */
const userMutation = (mutation: string, args: Record<string, unknown>) => {
  const defaults: Record<string, unknown> = {
    userId: 'u',
    tier: 'team',
    endsAt: future,
    reason: null,
    ...args,
  };
  const used = Object.keys(VARIABLE_TYPES).filter((name) => mutation.includes(`$${name}`));
  return {
    query: `mutation(${used.map((name) => `$${name}: ${VARIABLE_TYPES[name]}`).join(', ')}) { ${mutation} }`,
    variables: Object.fromEntries(used.map((name) => [name, defaults[name]])),
  };
};

const BAD_INPUT: [string, { query: string; variables: Record<string, unknown> }, string][] = [
  ['an empty user id', grant({ userId: '' }), 'userId'],
  ['a user id of 129 characters', grant({ userId: 'u'.repeat(129) }), 'userId'],
  ['a feature key with capitals', grant({ feature: 'Api' }), 'feature'],
  ['a feature key of 65 characters', grant({ feature: `a${'b'.repeat(64)}` }), 'feature'],
  ['a negative limit', grant({ limit: -1 }), 'limit'],
  ['expiresAt equal to startsAt', grant({ startsAt: future, expiresAt: future }), 'expiresAt'],
  ['expiresAt before startsAt', grant({ startsAt: later, expiresAt: future }), 'expiresAt'],
  ['expiresAt in the past', grant({ startsAt: past, expiresAt: '2002-01-01T00:00:00Z' }), 'expiresAt'],
  ['a reason of 1,001 characters', grant({ reason: 'r'.repeat(1001) }), 'reason'],
  ['a JSON value over 16 KiB', grant({ feature: 'theme', value: bigJson }), 'value'],
  ['a limit on a BOOLEAN feature', grant({ feature: 'sso', limit: 3 }), 'limit'],
  ['a value on a METERED feature', grant({ value: 'x' }), 'value'],
  ['a tier key with a space', tier({ key: 'new tier' }), 'key'],
  ['an empty tier name', tier({ name: '' }), 'name'],
  ['a tier name of 201 characters', tier({ name: 'n'.repeat(201) }), 'name'],
  ['a negative tier limit', tier({ entitlements: [{ feature: 'api', limit: -5 }] }), 'entitlements[0].limit'],
  [
    'a feature listed twice in a tier',
    tier({ entitlements: [{ feature: 'sso' }, { feature: 'sso' }] }),
    'entitlements[1].feature',
  ],
  [
    'a tier value over 16 KiB',
    tier({ entitlements: [{ feature: 'theme', value: bigJson }] }),
    'entitlements[0].value',
  ],
  ['a feature key starting with a digit', feature({ key: '1feature' }), 'key'],
  ['a description of 1,001 characters', feature({ description: 'd'.repeat(1001) }), 'description'],
  [
    'changeTier with a long reason',
    userMutation('changeTier(userId: $userId, tier: $tier, reason: $reason) { id }', {
      reason: 'r'.repeat(1001),
    }),
    'reason',
  ],
  [
    'changeTier with a bad tier key',
    userMutation('changeTier(userId: $userId, tier: $tier) { id }', { tier: 'TEAM' }),
    'tier',
  ],
  [
    'startTrial ending in the past',
    userMutation('startTrial(userId: $userId, tier: $tier, endsAt: $endsAt) { id }', { endsAt: past }),
    'endsAt',
  ],
  [
    'endTrial for an empty user id',
    userMutation('endTrial(userId: $userId) { id }', { userId: '' }),
    'userId',
  ],
  [
    'revokeLicense without a reason',
    userMutation('revokeLicense(userId: $userId, reason: "") { id }', {}),
    'reason',
  ],
  [
    'restoreLicense with a long reason',
    userMutation('restoreLicense(userId: $userId, reason: $reason) { id }', { reason: 'r'.repeat(1001) }),
    'reason',
  ],
];

describe('bad input', () => {
  it.each(BAD_INPUT)(
    '%s gives BAD_USER_INPUT naming the field, and changes nothing',
    async (_name, request, field) => {
      const before = await snapshot();
      const response = await server.gql(request.query, request.variables);
      expect(response.data ?? null).toBeNull();
      expect(response.errors).toHaveLength(1);
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(await snapshot()).toEqual(before);
    },
  );

  it.each([
    ['a user id of 128 characters', grant({ userId: 'u'.repeat(128) })],
    ['a key of 64 characters', feature({ key: `a${'b'.repeat(63)}` })],
    ['a zero limit', grant({ limit: 0 })],
    ['a reason of 1,000 characters', grant({ reason: 'r'.repeat(1000) })],
    ['a JSON value of exactly 16 KiB', grant({ feature: 'theme', value: 'x'.repeat(16 * 1024 - 2) })],
  ])('accepts %s, the bound itself', async (_name, request) => {
    dataOf(await server.gql(request.query, request.variables));
  });

  it.each([
    ['an unknown feature in a grant', grant({ feature: 'teleport' })],
    ['an unknown feature in a tier', tier({ entitlements: [{ feature: 'teleport' }] })],
    [
      'an unknown tier in changeTier',
      userMutation('changeTier(userId: $userId, tier: $tier) { id }', { tier: 'gold' }),
    ],
    [
      'an unknown tier in startTrial',
      userMutation('startTrial(userId: $userId, tier: $tier, endsAt: $endsAt) { id }', { tier: 'gold' }),
    ],
  ])('answers %s with NOT_FOUND and changes nothing', async (_name, request) => {
    const before = await snapshot();
    const response = await server.gql(request.query, request.variables);
    expect(response.errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['a malformed DateTime', { expiresAt: 'tomorrow' }, 'expiresAt'],
    ['a limit beyond 32 bits', { limit: 2 ** 31 }, 'limit'],
    ['a missing required field', { feature: undefined }, 'feature'],
  ])('refuses %s before any resolver runs, naming the field', async (_name, input, field) => {
    const before = await snapshot();
    const response = await server.gql(grant({}).query, { input: { userId: 'u', feature: 'api', ...input } });
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['startsAt', { startsAt: '0050-06-01T00:00:00Z' }],
    ['expiresAt', { expiresAt: '+010000-01-01T00:00:00Z' }],
  ])('refuses a %s outside the years 1970 to 9999', async (field, input) => {
    const response = await server.gql(grant({}).query, { input: { userId: 'u', feature: 'api', ...input } });
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('refuses an entity representation without an id', async () => {
    const response = await server.gql(
      'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id } } }',
      { reps: [{ __typename: 'User' }] },
    );
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });
});
