import { randomUUID } from 'node:crypto';

import { authenticated, Scope } from '../../src/auth/caller';
import { GrantRow, LicenseRow, UsageCounterRow } from '../../src/db/entities';
import { createTestCatalog } from '../testkit/catalog';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

const ENTITY_QUERY = `query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on User {
      id
      tier { key name }
      license { status baseTier { key } trial { tier { key } active } updatedAt }
      entitlements { feature { key kind } source grants { id feature { key } } limit used remaining value expiresAt }
      sso: entitlement(feature: "sso") { source }
      hasEntitlement(feature: "api")
      usage { feature { key } used limit remaining periodStart }
    }
  }
}`;

let server: TestServer;
const reps = (ids: string[]) => ids.map((id) => ({ __typename: 'User', id }));

/** Statements the server sends to the database while answering one request. */
async function statementsFor(ids: string[]): Promise<{ count: number; users: any[] }> {
  const before = server.queries.count;
  const users = dataOf(await server.gql(ENTITY_QUERY, { reps: reps(ids) }))._entities;
  return { count: server.queries.count - before, users };
}

beforeAll(async () => {
  // The event feed and the expiry sweeper query on timers; counted statements must be the request's alone.
  server = await startTestServer({ backgroundJobs: false });
  await createTestCatalog(server);
  // 500 users, each with a base tier, a running trial and two grants, written in bulk.
  const now = Date.now();
  const ids = Array.from({ length: 500 }, (_, i) => `bulk-${i}`);
  await server.dataSource.manager.insert(
    LicenseRow,
    ids.map((userId, i) => ({
      userId,
      baseTierKey: i % 2 === 0 ? 'team' : 'basic',
      status: 'ACTIVE' as const,
      revokedAt: null,
      revokeReason: null,
      trialTierKey: 'corp',
      trialStartedAt: new Date(now - 1000),
      trialEndsAt: new Date(now + 86_400_000),
      createdAt: new Date(now),
      updatedAt: new Date(now),
    })),
  );
  const grants = ids.flatMap((userId) =>
    ['api', 'theme'].map((featureKey) => ({
      id: randomUUID(),
      userId,
      featureKey,
      limit: featureKey === 'api' ? 5 : null,
      value: featureKey === 'theme' ? { color: 'gold' } : null,
      startsAt: new Date(now - 1000),
      expiresAt: new Date(now + 86_400_000),
      revokedAt: null,
      revokeReason: null,
      grantedBy: 'test',
      reason: null,
      createdAt: new Date(now),
    })),
  );
  for (let i = 0; i < grants.length; i += 200)
    await server.dataSource.manager.insert(GrantRow, grants.slice(i, i + 200));
  const monthStart = new Date(Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1));
  const counters = ids.map((userId) => ({
    userId,
    featureKey: 'api',
    periodStart: monthStart,
    used: 3,
    limitReachedAt: null,
    updatedAt: new Date(now),
  }));
  for (let i = 0; i < counters.length; i += 200) {
    await server.dataSource.manager.insert(UsageCounterRow, counters.slice(i, i + 200));
  }
});
afterAll(() => server.stop());

describe('_entities', () => {
  it('resolves User references in representation order, including unknown ids and repeats', async () => {
    const ids = ['bulk-3', 'stranger', 'bulk-0', 'bulk-3'];
    const { users } = await statementsFor(ids);
    expect(users.map((u: any) => u.id)).toEqual(ids);
    expect(users[1]).toMatchObject({ tier: { key: 'basic' }, license: { status: 'ACTIVE', trial: null } });
    expect(users[0]).toMatchObject({
      tier: { key: 'corp' },
      license: { baseTier: { key: 'basic' } },
      sso: { source: 'TRIAL' },
    });
    const theme = users[2].entitlements.find((e: any) => e.feature.key === 'theme');
    expect(theme).toMatchObject({ source: 'GRANT', value: { color: 'gold' } });
  });

  it('runs the same number of SQL statements for 1 user as for 500, usage included', async () => {
    const one = await statementsFor(['bulk-1']);
    const many = await statementsFor(Array.from({ length: 500 }, (_, i) => `bulk-${i}`));
    expect(many.users).toHaveLength(500);
    expect(many.users[499].entitlements.find((e: any) => e.feature.key === 'api')).toMatchObject({
      source: 'GRANT',
      limit: null,
      used: 3,
    });
    expect(many.users[499].usage.find((m: any) => m.feature.key === 'api')).toMatchObject({ used: 3 });
    expect(one.count).toBeGreaterThan(0);
    expect(many.count).toBe(one.count);
    // One batch: the catalog version with the licenses; grants and overrides (own and the seats'
    // organizations'); usage (own and pooled); seats with their organizations' licenses; group tiers.
    expect(many.count).toBeLessThanOrEqual(5);
  });

  it('answers checks asked alone as the whole view answers them, in one batch whatever else is asked', async () => {
    const ids = ['bulk-0', 'bulk-1', 'bulk-2', 'never-seen'];
    const features = ['api', 'seats', 'sso', 'audit', 'theme', 'nope'];
    const checks = features
      .map(
        (f, i) =>
          `h${i}: hasEntitlement(feature: "${f}") e${i}: entitlement(feature: "${f}") { source limit used remaining value expiresAt grants { id } }`,
      )
      .join(' ');
    const entities = async (selection: string) => {
      const before = server.queries.count;
      const query = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { ${selection} } } }`;
      const users = dataOf(await server.gql(query, { reps: reps(ids) }))._entities;
      return { users, count: server.queries.count - before };
    };
    const alone = await entities(checks);
    const withView = await entities(`${checks} entitlements { feature { key } }`);
    expect(alone.users).toEqual(withView.users.map(({ entitlements: _view, ...checked }: any) => checked));
    expect(alone.users[1]).toMatchObject({ h0: true, e0: { source: 'GRANT', used: 3 }, h5: false, e5: null });
    expect(alone.count).toBe(withView.count);
    expect(alone.count).toBeLessThanOrEqual(5);
  });

  it('answers an over-long id with BAD_USER_INPUT for that entity alone', async () => {
    const response = await server.gql(
      'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id tier { key } } } }',
      {
        reps: reps(['ok-user', 'x'.repeat(129)]),
      },
    );
    expect(response.data?._entities[0]).toEqual({ id: 'ok-user', tier: { key: 'basic' } });
    expect(response.errors).toHaveLength(1);
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });
});

describe('concurrent requests', () => {
  it("share one read when they arrive together, each answered for its own users within its caller's rights", async () => {
    const admin = authenticated('admin', [Scope.read], null);
    const own = (id: string) => authenticated(id, [], null);
    await server.services.licenses.view(admin, ['bulk-10']); // the catalog in memory, as it stays
    const before = server.queries.count;
    const [checks, view, forbidden] = await Promise.all([
      // bulk-14 is read for the admin in the same shared read: still not for bulk-13.
      server.services.licenses.view(admin, ['bulk-10', 'bulk-11', 'bulk-14'], ['api']),
      server.services.licenses.view(own('bulk-12'), ['bulk-12']),
      server.services.licenses.view(own('bulk-13'), ['bulk-13', 'bulk-14']),
    ]);
    // One read for the three, whole views included (a check's features alone would not do for a view).
    expect(server.queries.count - before).toBeLessThanOrEqual(5);
    expect(checks.views.map((read: any) => read.state.license.userId)).toEqual([
      'bulk-10',
      'bulk-11',
      'bulk-14',
    ]);
    expect(view.views[0]).toMatchObject({ tier: { key: 'corp' } });
    expect(forbidden.views[0]).toMatchObject({ tier: { key: 'corp' } });
    expect(forbidden.views[1]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
  });

  it('answers each request over HTTP as if it came alone', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `bulk-${100 + i}`);
    const query = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id has: hasEntitlement(feature: "api") e: entitlement(feature: "api") { used } tier { key } } } }`;
    const answers = await Promise.all(ids.map((id) => server.gql(query, { reps: reps([id]) })));
    answers.forEach((answer, i) =>
      expect(dataOf(answer)._entities).toEqual([
        { id: ids[i], has: true, e: { used: 3 }, tier: { key: 'corp' } },
      ]),
    );
  });
});

describe('_service', () => {
  it('serves an SDL that links Federation 2.5+ and declares User as an entity', async () => {
    const sdl: string = dataOf(await server.gql('{ _service { sdl } }'))._service.sdl;
    expect(sdl).toMatch(/@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.([5-9]|\d\d)"/);
    expect(sdl).toMatch(/type User\s+@key\(fields: "id"\)/);
    for (const field of [
      'license: License!',
      'tier: Tier!',
      'entitlements(organizationId: ID): [Entitlement!]!',
      'usage(organizationId: ID): [UsageMeter!]!',
    ]) {
      expect(sdl).toContain(field);
    }
    expect(sdl).toContain('entitlement(feature: ID!, organizationId: ID): Entitlement');
    expect(sdl).toContain('hasEntitlement(feature: ID!, organizationId: ID): Boolean!');
  });
});
