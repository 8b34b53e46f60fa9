import { IdempotencyKeyRow, UsageCounterRow } from '../../src/db/entities';
import { createTestCatalog, createTinyTier } from '../testkit/catalog';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

let server: TestServer;
let meterToken: string;
let userSeq = 0;
const newUser = () => `batch-user-${++userSeq}`;

const BATCH = `mutation($inputs: [RecordUsageInput!]!) {
  recordUsageBatch(inputs: $inputs) { allowed meter { feature { key } used limit remaining organization { id } } }
}`;

const batch = (inputs: Record<string, unknown>[], token = meterToken) =>
  server.gqlAs(token, BATCH, { inputs });
const recorded = async (inputs: Record<string, unknown>[]) => dataOf(await batch(inputs)).recordUsageBatch;

async function storedUsed(userId: string, featureKey = 'api'): Promise<number> {
  const rows = await server.dataSource.manager.findBy(UsageCounterRow, { userId, featureKey });
  return rows.reduce((sum, row) => sum + Number(row.used), 0);
}

async function eventTypes(userId: string): Promise<string[]> {
  const page = dataOf(
    await server.gql('query($u: ID) { licenseEvents(userId: $u, first: 1000) { events { type } } }', {
      u: userId,
    }),
  ).licenseEvents;
  return page.events.map((event: { type: string }) => event.type);
}

beforeAll(async () => {
  server = await startTestServer();
  await createTestCatalog(server);
  await createTinyTier(server);
  meterToken = await server.token('batch-meter', ['usage:write']);
});
afterAll(() => server.stop());

async function setTier(userId: string, tier: string) {
  dataOf(
    await server.gql('mutation($u: ID!, $t: ID!) { changeTier(userId: $u, tier: $t) { id } }', {
      u: userId,
      t: tier,
    }),
  );
}

describe('recordUsageBatch', () => {
  it('judges inputs one after another: a later input sees the earlier ones, results in input order', async () => {
    const alice = newUser();
    const bob = newUser();
    const results = await recorded(
      [
        { userId: alice, feature: 'api', amount: 60 },
        { userId: bob, feature: 'api', amount: 100 },
        { userId: alice, feature: 'api', amount: 41 },
        { userId: alice, feature: 'api', amount: 40 },
        { userId: bob, feature: 'api', amount: 1 },
        { userId: alice, feature: 'sso', amount: 1 },
      ].slice(0, 5),
    );
    expect(
      results.map((r: { allowed: boolean; meter: { used: number } }) => [r.allowed, r.meter.used]),
    ).toEqual([
      [true, 60],
      [true, 100],
      [false, 60],
      [true, 100],
      [false, 100],
    ]);
    expect(await storedUsed(alice)).toBe(100);
    expect(await storedUsed(bob)).toBe(100);
    // Each meter reached its limit once, in the batch's one transaction.
    expect((await eventTypes(alice)).filter((type) => type === 'USAGE_LIMIT_REACHED')).toHaveLength(1);
    expect((await eventTypes(bob)).filter((type) => type === 'USAGE_LIMIT_REACHED')).toHaveLength(1);
  });

  it('answers a use that does not fit, or is not entitled, with allowed: false, not an error', async () => {
    const userId = newUser();
    const [fits, tooMuch] = await recorded([
      { userId, feature: 'api', amount: 1 },
      { userId, feature: 'seats', amount: 2 },
    ]);
    expect(fits.allowed).toBe(true);
    expect(tooMuch).toMatchObject({ allowed: false, meter: { used: 0, limit: 1 } });
    await server.gql('mutation($u: ID!) { revokeLicense(userId: $u, reason: "x") { id } }', { u: userId });
    const [revoked] = await recorded([{ userId, feature: 'api', amount: 1 }]);
    expect(revoked).toMatchObject({ allowed: false, meter: { limit: 0 } });
  });

  it.each([
    ['an amount out of bounds', { amount: 0 }, 'inputs.2.amount'],
    ['an unknown feature', { feature: 'nope' }, 'inputs.2.feature'],
    ['a feature that is not METERED', { feature: 'sso' }, 'inputs.2.feature'],
    ['an invalid user id', { userId: '' }, 'inputs.2.userId'],
    ['an invalid organization id', { organizationId: '' }, 'inputs.2.organizationId'],
  ])('refuses the whole batch for %s, naming its index, and changes nothing', async (_case, bad, field) => {
    const userId = newUser();
    const good = { userId, feature: 'api', amount: 5, idempotencyKey: `k-${userId}` };
    const response = await batch([
      good,
      { ...good, idempotencyKey: null },
      { ...good, idempotencyKey: null, ...bad },
    ]);
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await storedUsed(userId)).toBe(0);
    expect(
      await server.dataSource.manager.countBy(IdempotencyKeyRow, { idempotencyKey: `k-${userId}` }),
    ).toBe(0);
  });

  it('refuses inputs of the wrong type as BAD_USER_INPUT naming the list, index and field', async () => {
    const userId = newUser();
    const good = { userId, feature: 'api', amount: 5 };
    const response = await batch([good, good, { ...good, amount: 'five' }]);
    expect(response.errors?.map((error) => [error.extensions?.code, error.extensions?.field])).toEqual([
      ['BAD_USER_INPUT', 'inputs.2.amount'],
    ]);
    expect(await storedUsed(userId)).toBe(0);
  });

  it('refuses a batch with more malformed values than graphql-js reports as BAD_USER_INPUT only', async () => {
    const userId = newUser();
    const response = await batch(Array.from({ length: 60 }, () => ({ userId, feature: 'api', amount: 'x' })));
    const codes = new Set(response.errors?.map((error) => error.extensions?.code));
    expect([...codes]).toEqual(['BAD_USER_INPUT']);
    expect(response.errors?.length).toBeGreaterThan(50);
    expect(await storedUsed(userId)).toBe(0);
  });

  it('refuses an empty batch and one of more than 1,000 inputs', async () => {
    const userId = newUser();
    for (const inputs of [[], Array.from({ length: 1001 }, () => ({ userId, feature: 'api' }))]) {
      expect((await batch(inputs)).errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'inputs',
      });
    }
    expect(await storedUsed(userId)).toBe(0);
  });

  it('honours idempotency keys per input: a retried batch adds nothing, a key reused with other input is CONFLICT', async () => {
    const userId = newUser();
    const inputs = [
      { userId, feature: 'api', amount: 3, idempotencyKey: 'a' },
      { userId, feature: 'api', amount: 4 },
      { userId, feature: 'api', amount: 5, idempotencyKey: 'b' },
    ];
    const first = await recorded(inputs);
    expect(first.map((r: { meter: { used: number } }) => r.meter.used)).toEqual([3, 7, 12]);
    const retried = await recorded(inputs);
    // The keyed inputs answer as the first time; the unkeyed one counts again.
    expect(retried.map((r: { meter: { used: number } }) => r.meter.used)).toEqual([3, 16, 12]);
    expect(await storedUsed(userId)).toBe(16);

    const conflict = await batch([
      { userId, feature: 'api', amount: 1 },
      { userId, feature: 'api', amount: 6, idempotencyKey: 'b' },
    ]);
    expect(conflict.errors?.[0].extensions).toMatchObject({
      code: 'CONFLICT',
      field: 'inputs.1.idempotencyKey',
    });
    expect(await storedUsed(userId)).toBe(16);

    // The same key twice in one batch: the same input answers like its first use, other input is CONFLICT.
    const twice = await recorded([
      { userId, feature: 'api', amount: 2, idempotencyKey: 'c' },
      { userId, feature: 'api', amount: 2, idempotencyKey: 'c' },
    ]);
    expect(twice).toEqual([twice[0], twice[0]]);
    expect(await storedUsed(userId)).toBe(18);
    const mixed = await batch([
      { userId, feature: 'api', amount: 2, idempotencyKey: 'd' },
      { userId, feature: 'api', amount: 9, idempotencyKey: 'd' },
    ]);
    expect(mixed.errors?.[0].extensions).toMatchObject({
      code: 'CONFLICT',
      field: 'inputs.1.idempotencyKey',
    });
    expect(await storedUsed(userId)).toBe(18);
  });

  it('stays exact under concurrent batches over the same users in different orders (no deadlock, no lost count)', async () => {
    const users = Array.from({ length: 5 }, newUser);
    for (const userId of users) await setTier(userId, 'tiny');
    // 20 batches of 10 inputs of 1 against limits of 50 per user: 200 units per user asked, exactly 50 allowed.
    const batches = Array.from({ length: 20 }, (_, b) =>
      Array.from({ length: 10 }, (_, i) => ({
        userId: users[(b + i) % 5],
        feature: 'api',
        amount: 5,
      })).reverse(),
    );
    const answers = await Promise.all(batches.map((inputs) => recorded(inputs)));
    const allowed = answers.flat().filter((r: { allowed: boolean }) => r.allowed).length;
    expect(allowed).toBe(50);
    for (const userId of users) {
      expect(await storedUsed(userId)).toBe(50);
      expect((await eventTypes(userId)).filter((type) => type === 'USAGE_LIMIT_REACHED')).toHaveLength(1);
    }
  });

  it("counts pooled inputs in the organization's pool, exact across concurrent batches of its members", async () => {
    dataOf(
      await server.gql(`mutation {
        upsertFeature(input: { key: "credits", kind: METERED, meterScope: ORGANIZATION }) { key }
        upsertTier(input: { key: "pooled", name: "Pooled", rank: 5, entitlements: [{ feature: "credits", limit: 30 }] }) { key }
        setOrganizationLicense(input: { organizationId: "batch-org", tier: "pooled" }) { id }
      }`),
    );
    const members = Array.from({ length: 4 }, newUser);
    for (const userId of members) {
      dataOf(
        await server.gql(
          'mutation($u: ID!) { assignSeat(organizationId: "batch-org", userId: $u) { assignedAt } }',
          {
            u: userId,
          },
        ),
      );
    }
    const batches = Array.from({ length: 10 }, (_, b) =>
      Array.from({ length: 5 }, (_, i) => ({ userId: members[(b + i) % 4], feature: 'credits', amount: 1 })),
    );
    const answers = await Promise.all(batches.map((inputs) => recorded(inputs)));
    const allowed = answers.flat().filter((r: { allowed: boolean }) => r.allowed);
    expect(allowed).toHaveLength(30);
    expect(allowed[0].meter.organization).toEqual({ id: 'batch-org' });
    const pool = dataOf(
      await server.gql(
        'query { _entities(representations: [{ __typename: "Organization", id: "batch-org" }]) { ... on Organization { usage { used limit } } } }',
      ),
    )._entities[0].usage;
    expect(pool).toEqual([{ used: 30, limit: 30 }]);
  });

  it('needs usage:write or entitlements:write', async () => {
    const token = await server.token('reader', ['entitlements:read']);
    const response = await batch([{ userId: newUser(), feature: 'api' }], token);
    expect(response.errors?.[0].extensions.code).toBe('FORBIDDEN');
  });
});
