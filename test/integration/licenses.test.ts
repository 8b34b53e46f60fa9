import { createTestCatalog } from '../testkit/catalog';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

const USER_FIELDS = `
  id
  tier { key }
  license { status baseTier { key } trial { tier { key } active endsAt } revokedAt revokeReason updatedAt }
  entitlements { feature { key } source limit used remaining value expiresAt grants { id } }
  usage { feature { key } used limit remaining periodStart periodEnd }
`;

let server: TestServer;
let userSeq = 0;
const newUser = () => `user-${++userSeq}`;

async function readUser(id: string, extra = ''): Promise<any> {
  const data = dataOf(
    await server.gql(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { ${USER_FIELDS} ${extra} } } }`,
      { reps: [{ __typename: 'User', id }] },
    ),
  );
  return data._entities[0];
}

const entitlement = (user: any, key: string) => user.entitlements.find((e: any) => e.feature.key === key);

async function grant(input: Record<string, unknown>): Promise<any> {
  return dataOf(
    await server.gql(
      'mutation($input: GrantEntitlementInput!) { grantEntitlement(input: $input) { id active limit value startsAt expiresAt grantedBy reason user { id } feature { key } } }',
      { input },
    ),
  ).grantEntitlement;
}

beforeAll(async () => {
  server = await startTestServer();
  await createTestCatalog(server);
});
afterAll(() => server.stop());

describe('an identity without a record', () => {
  it('has the default tier and an active license', async () => {
    const user = await readUser('never-seen');
    expect(user.tier.key).toBe('basic');
    expect(user.license).toMatchObject({
      status: 'ACTIVE',
      baseTier: { key: 'basic' },
      trial: null,
      revokedAt: null,
    });
    expect(user.entitlements.map((e: any) => e.feature.key)).toEqual(['api', 'seats', 'theme']);
    expect(entitlement(user, 'api')).toMatchObject({ source: 'TIER', limit: 100, used: 0, remaining: 100 });
    expect(entitlement(user, 'theme').value).toEqual({ color: 'grey' });
  });
});

describe('grants', () => {
  it('adds a grant limit to the tier limit and reports the grant as the source', async () => {
    const id = newUser();
    const created = await grant({ userId: id, feature: 'api', limit: 50, reason: 'promo' });
    expect(created).toMatchObject({
      active: true,
      limit: 50,
      grantedBy: 'admin',
      reason: 'promo',
      user: { id },
    });
    const user = await readUser(id);
    expect(entitlement(user, 'api')).toMatchObject({ source: 'GRANT', limit: 150, remaining: 150 });
    expect(entitlement(user, 'api').grants).toEqual([{ id: created.id }]);
  });

  it('makes a metered feature unlimited when one grant is unlimited', async () => {
    const id = newUser();
    await grant({ userId: id, feature: 'api', limit: 5 });
    await grant({ userId: id, feature: 'api' });
    const user = await readUser(id);
    expect(entitlement(user, 'api')).toMatchObject({ limit: null, remaining: null });
  });

  it('gives a feature the tier does not include, and the newest grant decides a CONFIG value', async () => {
    const id = newUser();
    await grant({ userId: id, feature: 'sso' });
    await grant({ userId: id, feature: 'theme', value: { color: 'red' }, startsAt: '2020-01-01T00:00:00Z' });
    await grant({
      userId: id,
      feature: 'theme',
      value: { color: 'green' },
      startsAt: '2021-01-01T00:00:00Z',
    });
    const user = await readUser(
      id,
      'hasSso: hasEntitlement(feature: "sso") sso: entitlement(feature: "sso") { source }',
    );
    expect(user.hasSso).toBe(true);
    expect(user.sso).toEqual({ source: 'GRANT' });
    expect(entitlement(user, 'theme')).toMatchObject({ source: 'GRANT', value: { color: 'green' } });
  });

  it('does nothing before it starts, and says when access ends', async () => {
    const id = newUser();
    const startsAt = new Date(Date.now() + 3_600_000).toISOString();
    const expiresAt = new Date(Date.now() + 7_200_000).toISOString();
    const future = await grant({ userId: id, feature: 'sso', startsAt, expiresAt });
    expect(future.active).toBe(false);
    expect(entitlement(await readUser(id), 'sso')).toBeUndefined();

    const nowGrant = await grant({ userId: id, feature: 'sso', expiresAt: startsAt });
    expect(nowGrant.active).toBe(true);
    // The current grant hands over to the future one without a gap, so access ends with the later grant.
    expect(entitlement(await readUser(id), 'sso').expiresAt).toBe(new Date(expiresAt).toISOString());
  });

  it('stops counting the second its grant expires, with nothing run in between', async () => {
    const id = newUser();
    const expiresAt = new Date(Date.now() + 1500);
    await grant({ userId: id, feature: 'sso', expiresAt: expiresAt.toISOString() });
    expect((await readUser(id, 'has: hasEntitlement(feature: "sso")')).has).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 10));
    const user = await readUser(id, 'has: hasEntitlement(feature: "sso")');
    expect(user.has).toBe(false);
    expect(entitlement(user, 'sso')).toBeUndefined();
  });

  it('is gone at once when revoked, and revoking again changes nothing', async () => {
    const id = newUser();
    const created = await grant({ userId: id, feature: 'sso' });
    const revoke = `mutation($id: ID!) { revokeEntitlement(grantId: $id, reason: "abuse") { id active revokedAt revokeReason } }`;
    const revoked = dataOf(await server.gql(revoke, { id: created.id })).revokeEntitlement;
    expect(revoked).toMatchObject({ id: created.id, active: false, revokeReason: 'abuse' });
    expect(entitlement(await readUser(id), 'sso')).toBeUndefined();

    const again = dataOf(await server.gql(revoke, { id: created.id })).revokeEntitlement;
    expect(again.revokedAt).toBe(revoked.revokedAt);
    const events = dataOf(
      await server.gql('query($u: ID) { licenseEvents(userId: $u) { events { type } } }', { u: id }),
    ).licenseEvents.events;
    expect(events.map((e: any) => e.type)).toEqual(['ENTITLEMENT_GRANTED', 'ENTITLEMENT_REVOKED']);
  });

  it('answers NOT_FOUND for an unknown grant or feature', async () => {
    const unknownGrant = await server.gql('mutation { revokeEntitlement(grantId: "nope") { id } }');
    expect(unknownGrant.errors?.[0].extensions.code).toBe('NOT_FOUND');
    const unknownFeature = await server.gql(
      'mutation { grantEntitlement(input: { userId: "x", feature: "warp-drive" }) { id } }',
    );
    expect(unknownFeature.errors?.[0].extensions.code).toBe('NOT_FOUND');
  });
});

describe('tiers', () => {
  it('upgrades and downgrades at once', async () => {
    const id = newUser();
    const change =
      'mutation($id: ID!, $tier: ID!) { changeTier(userId: $id, tier: $tier) { tier { key } entitlements { feature { key } limit } } }';
    const up = dataOf(await server.gql(change, { id, tier: 'corp' })).changeTier;
    expect(up.tier.key).toBe('corp');
    expect(up.entitlements.map((e: any) => e.feature.key)).toEqual(['api', 'audit', 'seats', 'sso']);
    expect(up.entitlements[0].limit).toBeNull();

    const down = dataOf(await server.gql(change, { id, tier: 'basic' })).changeTier;
    expect(down.tier.key).toBe('basic');
    expect(down.entitlements.map((e: any) => e.feature.key)).toEqual(['api', 'seats', 'theme']);
    expect((await readUser(id, 'sso: hasEntitlement(feature: "sso")')).sso).toBe(false);
  });

  it('answers NOT_FOUND for an unknown tier and changes nothing', async () => {
    const id = newUser();
    const response = await server.gql(
      'mutation($id: ID!) { changeTier(userId: $id, tier: "platinum") { id } }',
      { id },
    );
    expect(response.errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect((await readUser(id)).license.updatedAt).toBe(new Date(0).toISOString());
  });
});

describe('trials', () => {
  it('uses the trial tier while it runs and the base tier after endTrial', async () => {
    const id = newUser();
    const endsAt = new Date(Date.now() + 86_400_000).toISOString();
    const started = dataOf(
      await server.gql(
        `mutation($id: ID!, $endsAt: DateTime!) { startTrial(userId: $id, tier: "corp", endsAt: $endsAt) { ${USER_FIELDS} } }`,
        { id, endsAt },
      ),
    ).startTrial;
    expect(started.tier.key).toBe('corp');
    expect(started.license.trial).toEqual({ tier: { key: 'corp' }, active: true, endsAt });
    expect(entitlement(started, 'sso')).toMatchObject({ source: 'TRIAL', expiresAt: endsAt });
    // api is in both tiers: access does not end with the trial.
    expect(entitlement(started, 'api').expiresAt).toBeNull();

    const ended = dataOf(
      await server.gql(
        `mutation($id: ID!) { endTrial(userId: $id, reason: "converted") { ${USER_FIELDS} } }`,
        { id },
      ),
    ).endTrial;
    expect(ended.tier.key).toBe('basic');
    expect(ended.license.trial.active).toBe(false);
    expect(entitlement(ended, 'sso')).toBeUndefined();
  });

  it('ends by itself at endsAt', async () => {
    const id = newUser();
    const endsAt = new Date(Date.now() + 1200);
    await server.gql(
      'mutation($id: ID!, $endsAt: DateTime!) { startTrial(userId: $id, tier: "corp", endsAt: $endsAt) { id } }',
      {
        id,
        endsAt: endsAt.toISOString(),
      },
    );
    expect((await readUser(id)).tier.key).toBe('corp');
    await new Promise((resolve) => setTimeout(resolve, endsAt.getTime() - Date.now() + 10));
    const user = await readUser(id);
    expect(user.tier.key).toBe('basic');
    expect(user.license.trial.active).toBe(false);
  });

  it('refuses an end in the past', async () => {
    const response = await server.gql(
      'mutation { startTrial(userId: "t", tier: "corp", endsAt: "2001-01-01T00:00:00Z") { id } }',
    );
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'endsAt' });
  });
});

describe('license revocation', () => {
  it('removes every entitlement at once and restores them all', async () => {
    const id = newUser();
    await grant({ userId: id, feature: 'sso' });
    const revoked = dataOf(
      await server.gql(
        `mutation($id: ID!) { revokeLicense(userId: $id, reason: "chargeback") { ${USER_FIELDS} has: hasEntitlement(feature: "api") } }`,
        { id },
      ),
    ).revokeLicense;
    expect(revoked.entitlements).toEqual([]);
    expect(revoked.usage).toEqual([]);
    expect(revoked.has).toBe(false);
    expect(revoked.license).toMatchObject({ status: 'REVOKED', revokeReason: 'chargeback' });

    const restored = dataOf(
      await server.gql(`mutation($id: ID!) { restoreLicense(userId: $id) { ${USER_FIELDS} } }`, { id }),
    ).restoreLicense;
    expect(restored.license).toMatchObject({ status: 'ACTIVE', revokedAt: null, revokeReason: null });
    expect(restored.entitlements.map((e: any) => e.feature.key)).toEqual(['api', 'seats', 'sso', 'theme']);
  });

  it('requires a reason', async () => {
    const response = await server.gql('mutation { revokeLicense(userId: "r", reason: "  ") { id } }');
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason' });
  });
});

describe('hasEntitlement', () => {
  it('is false for a metered feature with a zero limit, and for an unknown feature', async () => {
    dataOf(
      await server.gql(
        'mutation { upsertTier(input: { key: "zero", name: "Zero", rank: 1, entitlements: [{ feature: "api", limit: 0 }] }) { key } }',
      ),
    );
    const id = newUser();
    await server.gql('mutation($id: ID!) { changeTier(userId: $id, tier: "zero") { id } }', { id });
    const user = await readUser(
      id,
      'api: hasEntitlement(feature: "api") unknown: hasEntitlement(feature: "nope") none: entitlement(feature: "nope") { source }',
    );
    expect(entitlement(user, 'api')).toMatchObject({ limit: 0, remaining: 0 });
    expect(user).toMatchObject({ api: false, unknown: false, none: null });
  });
});

describe('several mutations in one operation', () => {
  it('each result shows the state its own mutation committed', async () => {
    const id = newUser();
    const data = dataOf(
      await server.gql(
        `mutation($id: ID!) {
          a: changeTier(userId: $id, tier: "corp") { tier { key } }
          b: changeTier(userId: $id, tier: "team") { tier { key } }
        }`,
        { id },
      ),
    );
    expect(data).toEqual({ a: { tier: { key: 'corp' } }, b: { tier: { key: 'team' } } });
  });
});

describe('concurrent changes to one identity', () => {
  it('all commit, each with its event, when they race on a user without a record', async () => {
    const id = newUser();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        server.gql('mutation($input: GrantEntitlementInput!) { grantEntitlement(input: $input) { id } }', {
          input: { userId: id, feature: 'api', limit: i + 1 },
        }),
      ),
    );
    for (const result of results) dataOf(result);
    const user = await readUser(id);
    expect(entitlement(user, 'api')).toMatchObject({ limit: 100 + (20 * 21) / 2 });
    expect(entitlement(user, 'api').grants).toHaveLength(20);
    const events = dataOf(
      await server.gql('query($u: ID) { licenseEvents(userId: $u, first: 100) { events { type } } }', {
        u: id,
      }),
    ).licenseEvents.events;
    expect(events).toHaveLength(20);
  });

  it('serializes tier changes so that the events chain from one tier to the next', async () => {
    const id = newUser();
    const tiers = ['team', 'corp', 'basic', 'team', 'corp', 'team', 'basic', 'corp'];
    await Promise.all(
      tiers.map(async (tier) =>
        dataOf(
          await server.gql('mutation($id: ID!, $t: ID!) { changeTier(userId: $id, tier: $t) { id } }', {
            id,
            t: tier,
          }),
        ),
      ),
    );
    const events = dataOf(
      await server.gql(
        'query($u: ID) { licenseEvents(userId: $u) { events { fromTier { key } toTier { key } } } }',
        { u: id },
      ),
    ).licenseEvents.events;
    let current = 'basic';
    for (const event of events) {
      expect(event.fromTier.key).toBe(current);
      current = event.toTier.key;
    }
    expect((await readUser(id)).license.baseTier.key).toBe(current);
  });
});

describe('user ids', () => {
  it('are exact: case and trailing spaces make different identities', async () => {
    const change = 'mutation($id: ID!, $tier: ID!) { changeTier(userId: $id, tier: $tier) { id } }';
    dataOf(await server.gql(change, { id: 'Xavier', tier: 'team' }));
    dataOf(await server.gql(change, { id: 'Xavier ', tier: 'corp' }));
    dataOf(await server.gql(change, { id: 'xavier', tier: 'basic' }));
    dataOf(await server.gql('mutation { revokeLicense(userId: "Xavier", reason: "r") { id } }'));
    dataOf(await server.gql('mutation { endTrial(userId: "Xavier  ") { id } }'));
    expect((await readUser('Xavier')).license).toMatchObject({
      status: 'REVOKED',
      baseTier: { key: 'team' },
    });
    expect((await readUser('Xavier ')).license).toMatchObject({
      status: 'ACTIVE',
      baseTier: { key: 'corp' },
    });
    expect((await readUser('xavier')).tier.key).toBe('basic');
  });

  it('count characters, not UTF-16 units', async () => {
    const id = '😀'.repeat(128);
    dataOf(await server.gql('mutation($id: ID!) { changeTier(userId: $id, tier: "team") { id } }', { id }));
    expect((await readUser(id)).tier.key).toBe('team');
  });
});
