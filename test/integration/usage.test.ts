import { IdempotencyKeyRow, UsageCounterRow } from '../../src/db/entities';
import { createTestCatalog, createTinyTier } from '../testkit/catalog';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

let server: TestServer;
let meterToken: string;
let userSeq = 0;
const newUser = () => `meter-user-${++userSeq}`;

const RECORD = `mutation($input: RecordUsageInput!) {
  recordUsage(input: $input) { allowed meter { feature { key } used limit remaining periodStart periodEnd } }
}`;

/** recordUsage as a metering service would call it (scope usage:write). */
async function record(input: Record<string, unknown>, token = meterToken) {
  return server.gqlAs(token, RECORD, { input });
}

async function recorded(input: Record<string, unknown>) {
  return dataOf(await record(input)).recordUsage;
}

async function storedUsed(userId: string, featureKey: string): Promise<number | null> {
  const rows = await server.dataSource.manager.findBy(UsageCounterRow, { userId, featureKey });
  return rows.length === 0 ? null : rows.reduce((sum, row) => sum + Number(row.used), 0);
}

async function events(userId: string, type: string) {
  const page = dataOf(
    await server.gql(
      'query($u: ID) { licenseEvents(userId: $u, first: 1000) { events { type feature { key } actor } } }',
      {
        u: userId,
      },
    ),
  ).licenseEvents;
  return page.events.filter((event: any) => event.type === type);
}

async function setTier(userId: string, tier: string) {
  dataOf(
    await server.gql('mutation($u: ID!, $t: ID!) { changeTier(userId: $u, tier: $t) { id } }', {
      u: userId,
      t: tier,
    }),
  );
}

async function topUp(userId: string, feature: string, limit: number, idempotencyKey?: string) {
  return dataOf(
    await server.gql('mutation($i: GrantEntitlementInput!) { grantEntitlement(input: $i) { id limit } }', {
      i: { userId, feature, limit, idempotencyKey },
    }),
  ).grantEntitlement;
}

beforeAll(async () => {
  server = await startTestServer();
  await createTestCatalog(server);
  await createTinyTier(server);
  meterToken = await server.token('metering-service', ['usage:write']);
});
afterAll(() => server.stop());

describe('recordUsage', () => {
  it('adds to the current period and reports the meter', async () => {
    const userId = newUser();
    const first = await recorded({ userId, feature: 'api', amount: 30 });
    const now = new Date();
    expect(first).toEqual({
      allowed: true,
      meter: {
        feature: { key: 'api' },
        used: 30,
        limit: 100,
        remaining: 70,
        periodStart: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString(),
        periodEnd: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString(),
      },
    });
    expect((await recorded({ userId, feature: 'api' })).meter).toMatchObject({ used: 31, remaining: 69 });
    expect(await storedUsed(userId, 'api')).toBe(31);

    const user = dataOf(
      await server.gql(
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { usage { feature { key } used limit remaining } entitlement(feature: "api") { used remaining } } } }',
        { r: [{ __typename: 'User', id: userId }] },
      ),
    )._entities[0];
    expect(user.entitlement).toEqual({ used: 31, remaining: 69 });
    expect(user.usage).toEqual([
      { feature: { key: 'api' }, used: 31, limit: 100, remaining: 69 },
      { feature: { key: 'seats' }, used: 0, limit: 1, remaining: 1 },
    ]);
  });

  it('counts in order with the other mutations of its operation', async () => {
    const userId = newUser();
    const data = dataOf(
      await server.gql(
        `mutation($u: ID!, $input: RecordUsageInput!, $inputs: [RecordUsageInput!]!) {
          before: changeTier(userId: $u, tier: "team") { entitlement(feature: "api") { used limit } }
          one: recordUsage(input: $input) { allowed meter { used } }
          batch: recordUsageBatch(inputs: $inputs) { allowed meter { used } }
          after: changeTier(userId: $u, tier: "basic") { entitlement(feature: "api") { used limit } }
        }`,
        {
          u: userId,
          input: { userId, feature: 'api', amount: 3 },
          inputs: [
            { userId, feature: 'api', amount: 4 },
            { userId, feature: 'api' },
          ],
        },
      ),
    );
    expect(data).toEqual({
      before: { entitlement: { used: 0, limit: 1000 } },
      one: { allowed: true, meter: { used: 3 } },
      batch: [
        { allowed: true, meter: { used: 7 } },
        { allowed: true, meter: { used: 8 } },
      ],
      after: { entitlement: { used: 8, limit: 100 } },
    });
  });

  it('refuses an amount that does not fit, and stores nothing', async () => {
    const userId = newUser();
    await recorded({ userId, feature: 'api', amount: 90 });
    const refused = await recorded({ userId, feature: 'api', amount: 11 });
    expect(refused).toMatchObject({ allowed: false, meter: { used: 90, limit: 100, remaining: 10 } });
    expect(await storedUsed(userId, 'api')).toBe(90);
    expect((await recorded({ userId, feature: 'api', amount: 10 })).allowed).toBe(true);
    expect(await storedUsed(userId, 'api')).toBe(100);
  });

  it('refuses a user who is not entitled, or whose license is revoked, and stores nothing', async () => {
    const userId = newUser();
    dataOf(
      await server.gql(
        'mutation { upsertTier(input: { key: "no-api", name: "No API", rank: 2, entitlements: [{ feature: "seats", limit: 2 }] }) { key } }',
      ),
    );
    await setTier(userId, 'no-api');
    expect(await recorded({ userId, feature: 'api' })).toMatchObject({
      allowed: false,
      meter: { used: 0, limit: 0, remaining: 0 },
    });
    expect(await storedUsed(userId, 'api')).toBeNull();

    const revokedUser = newUser();
    dataOf(
      await server.gql('mutation($u: ID!) { revokeLicense(userId: $u, reason: "fraud") { id } }', {
        u: revokedUser,
      }),
    );
    expect((await recorded({ userId: revokedUser, feature: 'api' })).allowed).toBe(false);
    expect(await storedUsed(revokedUser, 'api')).toBeNull();
  });

  it('keeps usage across an upgrade or downgrade, and a grant tops the limit up at once', async () => {
    const userId = newUser();
    await recorded({ userId, feature: 'api', amount: 100 });
    expect((await recorded({ userId, feature: 'api' })).allowed).toBe(false);
    await topUp(userId, 'api', 5);
    expect((await recorded({ userId, feature: 'api', amount: 5 })).meter).toMatchObject({
      used: 105,
      limit: 105,
    });
    await setTier(userId, 'team');
    expect((await recorded({ userId, feature: 'api' })).meter).toMatchObject({ used: 106, limit: 1005 });
    await setTier(userId, 'basic');
    expect(await recorded({ userId, feature: 'api' })).toMatchObject({
      allowed: false,
      meter: { used: 106, limit: 105 },
    });
  });

  it('counts without a cap on an unlimited meter', async () => {
    const userId = newUser();
    await setTier(userId, 'corp');
    const big = await recorded({ userId, feature: 'api', amount: 1_000_000_000 });
    expect(big).toMatchObject({
      allowed: true,
      meter: { used: 1_000_000_000, limit: null, remaining: null },
    });
  });

  it('records USAGE_LIMIT_REACHED once per meter and period, when the limit is first reached', async () => {
    const userId = newUser();
    await recorded({ userId, feature: 'api', amount: 99 });
    expect(await events(userId, 'USAGE_LIMIT_REACHED')).toEqual([]);
    await recorded({ userId, feature: 'api', amount: 1 });
    expect(await events(userId, 'USAGE_LIMIT_REACHED')).toEqual([
      { type: 'USAGE_LIMIT_REACHED', feature: { key: 'api' }, actor: 'metering-service' },
    ]);
    await recorded({ userId, feature: 'api', amount: 1 });
    await topUp(userId, 'api', 10);
    await recorded({ userId, feature: 'api', amount: 10 });
    expect(await events(userId, 'USAGE_LIMIT_REACHED')).toHaveLength(1);
  });
});

describe('recordUsage input', () => {
  it.each([
    [{ amount: 0 }, 'amount'],
    [{ amount: -3 }, 'amount'],
    [{ amount: 1_000_000_001 }, 'amount'],
    [{ feature: 'sso' }, 'feature'],
    [{ feature: 'theme' }, 'feature'],
    [{ feature: 'Api' }, 'feature'],
    [{ userId: '' }, 'userId'],
    [{ idempotencyKey: '' }, 'idempotencyKey'],
    [{ idempotencyKey: 'k'.repeat(256) }, 'idempotencyKey'],
  ])('refuses %j with BAD_USER_INPUT and stores nothing', async (input, field) => {
    const userId = newUser();
    const response = await record({ userId, feature: 'api', ...input });
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await storedUsed(userId, 'api')).toBeNull();
  });

  it('answers NOT_FOUND for an unknown feature', async () => {
    expect((await record({ userId: 'x', feature: 'warp' })).errors?.[0].extensions.code).toBe('NOT_FOUND');
  });

  it('needs usage:write or entitlements:write', async () => {
    expect(
      (await record({ userId: 'x', feature: 'api' }, await server.token('r', ['entitlements:read'])))
        .errors?.[0].extensions.code,
    ).toBe('FORBIDDEN');
    expect((await record({ userId: 'x', feature: 'api' }, '')).errors?.[0].extensions.code).toBe(
      'UNAUTHENTICATED',
    );
    expect(
      dataOf(await record({ userId: 'x', feature: 'api' }, await server.token('a', ['entitlements:write'])))
        .recordUsage.allowed,
    ).toBe(true);
  });
});

describe('idempotency keys', () => {
  it('replay the first recordUsage result and add nothing', async () => {
    const userId = newUser();
    const first = await recorded({ userId, feature: 'api', amount: 7, idempotencyKey: 'req-1' });
    await recorded({ userId, feature: 'api', amount: 1 });
    const again = await recorded({ userId, feature: 'api', amount: 7, idempotencyKey: 'req-1' });
    expect(again).toEqual(first);
    expect(await storedUsed(userId, 'api')).toBe(8);
  });

  it('refuse other input with the same key with CONFLICT, changing nothing', async () => {
    const userId = newUser();
    await recorded({ userId, feature: 'api', amount: 2, idempotencyKey: 'req-2' });
    const other = await record({ userId, feature: 'api', amount: 3, idempotencyKey: 'req-2' });
    expect(other.errors?.[0].extensions.code).toBe('CONFLICT');
    expect(await storedUsed(userId, 'api')).toBe(2);
  });

  it('replay the first grant and grant nothing more', async () => {
    const userId = newUser();
    const first = await topUp(userId, 'api', 10, 'grant-1');
    const again = await topUp(userId, 'api', 10, 'grant-1');
    expect(again).toEqual(first);
    const conflict = await server.gql(
      'mutation($i: GrantEntitlementInput!) { grantEntitlement(input: $i) { id } }',
      {
        i: { userId, feature: 'api', limit: 11, idempotencyKey: 'grant-1' },
      },
    );
    expect(conflict.errors?.[0].extensions.code).toBe('CONFLICT');
    const user = dataOf(
      await server.gql(
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { entitlement(feature: "api") { limit grants { id } } } } }',
        {
          r: [{ __typename: 'User', id: userId }],
        },
      ),
    )._entities[0];
    expect(user.entitlement).toEqual({ limit: 110, grants: [{ id: first.id }] });
  });

  it('are scoped per operation', async () => {
    const userId = newUser();
    await topUp(userId, 'api', 1, 'shared-key');
    expect((await recorded({ userId, feature: 'api', idempotencyKey: 'shared-key' })).allowed).toBe(true);
  });

  it('produce one effect for concurrent duplicates', async () => {
    const userId = newUser();
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        record({ userId, feature: 'api', amount: 3, idempotencyKey: 'burst' }),
      ),
    );
    const bodies = results.map((result) => dataOf(result).recordUsage);
    expect(new Set(bodies.map((body) => JSON.stringify(body))).size).toBe(1);
    expect(await storedUsed(userId, 'api')).toBe(3);

    const grants = await Promise.all(Array.from({ length: 10 }, () => topUp(userId, 'seats', 2, 'burst')));
    expect(new Set(grants.map((g) => g.id)).size).toBe(1);
  });

  it('are kept 24 hours, then pruned, after which the key is new again', async () => {
    const userId = newUser();
    await recorded({ userId, feature: 'api', amount: 4, idempotencyKey: 'old-key' });
    const key = { operation: 'recordUsage', idempotencyKey: 'old-key' };
    await server.dataSource.manager.update(IdempotencyKeyRow, key, {
      createdAt: new Date(Date.now() - 23 * 3_600_000),
    });
    await server.services.idempotency.prune();
    expect(await server.dataSource.manager.findOneBy(IdempotencyKeyRow, key)).not.toBeNull();

    await server.dataSource.manager.update(IdempotencyKeyRow, key, {
      createdAt: new Date(Date.now() - 25 * 3_600_000),
    });
    expect(await server.services.idempotency.prune()).toBeGreaterThanOrEqual(1);
    expect(await server.dataSource.manager.findOneBy(IdempotencyKeyRow, key)).toBeNull();
    await recorded({ userId, feature: 'api', amount: 4, idempotencyKey: 'old-key' });
    expect(await storedUsed(userId, 'api')).toBe(8);
  });
});

describe('under concurrency', () => {
  async function concurrentCalls(userId: string, amounts: number[]) {
    return Promise.all(amounts.map((amount) => recorded({ userId, feature: 'api', amount })));
  }

  it('200 concurrent calls against a limit of 50 allow exactly 50', async () => {
    const userId = newUser();
    await setTier(userId, 'tiny');
    const results = await concurrentCalls(userId, Array(200).fill(1));
    expect(results.filter((r) => r.allowed)).toHaveLength(50);
    expect(await storedUsed(userId, 'api')).toBe(50);
    // Each allowed call saw its own count: 1 to 50, once each.
    const seen = results
      .filter((r) => r.allowed)
      .map((r) => r.meter.used)
      .sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await events(userId, 'USAGE_LIMIT_REACHED')).toHaveLength(1);
  });

  it('a burst of first calls for an identity never seen before counts each once, without failures', async () => {
    // No license row yet: the calls race to create it (default tier, whose api limit is 100).
    const userId = newUser();
    const results = await concurrentCalls(userId, Array(150).fill(1));
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
    expect(await storedUsed(userId, 'api')).toBe(100);
  });

  it('mixed amounts never exceed the limit and lose no count', async () => {
    const userId = newUser();
    await setTier(userId, 'tiny');
    const amounts = Array.from({ length: 200 }, (_, i) => (i % 7) + 1);
    const results = await concurrentCalls(userId, amounts);
    const allowedTotal = results.reduce((sum, r, i) => sum + (r.allowed ? amounts[i] : 0), 0);
    const used = (await storedUsed(userId, 'api')) as number;
    expect(used).toBe(allowedTotal);
    expect(used).toBeLessThanOrEqual(50);
    // No refused call would have fitted in what was left at the end.
    const refused = amounts.filter((_, i) => !results[i].allowed);
    expect(Math.min(...refused)).toBeGreaterThan(50 - used);
  });

  it('honours a grant that raises the limit midway, never exceeding the limit in force at each commit', async () => {
    const userId = newUser();
    await setTier(userId, 'tiny');
    const calls = Array.from({ length: 200 }, (_, i) =>
      i === 100 ? topUp(userId, 'api', 30).then(() => null) : recorded({ userId, feature: 'api', amount: 1 }),
    );
    const results = (await Promise.all(calls)).filter((r) => r !== null);
    const allowed = results.filter((r) => r.allowed);
    for (const result of allowed) expect(result.meter.used).toBeLessThanOrEqual(result.meter.limit);
    const used = (await storedUsed(userId, 'api')) as number;
    expect(used).toBe(allowed.length);
    expect(used).toBeLessThanOrEqual(80);
    expect(allowed.map((r) => r.meter.used).sort((a, b) => a - b)).toEqual(
      Array.from({ length: used }, (_, i) => i + 1),
    );
  });
});
