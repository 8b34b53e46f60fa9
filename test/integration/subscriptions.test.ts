import { LicenseEventRow } from '../../src/db/entities';
import { createTestCatalog } from '../testkit/catalog';
import type { TestServer } from '../testkit/server';
import { dataOf, postGraphQL, startTestServer } from '../testkit/server';
import type { TestSocket, TestSubscription } from '../testkit/subscriptions';
import { openSocket, untilSubscribed } from '../testkit/subscriptions';
import { waitUntil } from '../testkit/wait';

let server: TestServer;
let reader: string;
const sockets: TestSocket[] = [];

const EVENT_FIELDS =
  'id type user { id } feature { key } grant { id } fromTier { key } toTier { key } actor reason';
const LICENSE_EVENTS = `subscription($userId: ID, $after: ID) { licenseEvents(userId: $userId, after: $after) { ${EVENT_FIELDS} } }`;
const GRANTED = `subscription($userId: ID) { entitlementGranted(userId: $userId) { id type user { id } } }`;
const REVOKED = `subscription($userId: ID) { entitlementRevoked(userId: $userId) { id type user { id } } }`;

function socketWith(
  token: string | null,
  how: 'authorization' | 'token' | 'header' = 'authorization',
): TestSocket {
  const socket =
    token === null
      ? openSocket(server.wsUrl)
      : how === 'header'
        ? openSocket(server.wsUrl, { headers: { authorization: `Bearer ${token}` } })
        : openSocket(server.wsUrl, {
            connectionParams: { [how]: how === 'token' ? token : `Bearer ${token}` },
          });
  sockets.push(socket);
  return socket;
}

async function mutate(query: string, variables?: Record<string, unknown>) {
  return dataOf(await server.gql(query, variables));
}

const revokeLicense = (userId: string) =>
  mutate('mutation($u: ID!) { revokeLicense(userId: $u, reason: "fraud") { id } }', { u: userId });
const changeTier = (userId: string, tier: string) =>
  mutate('mutation($u: ID!, $t: ID!) { changeTier(userId: $u, tier: $t) { id } }', { u: userId, t: tier });

/** Waits until the server holds `count` subscriptions, so that the events the test commits next reach them. */
const subscribed = (count: number, ...subscriptions: TestSubscription[]) =>
  untilSubscribed(() => server.live.feed.listenerCount, count, subscriptions);

/**
 * Shows that nothing more reached `subscription` than it has: a later event of the user's own (a
 * revocation) is the very next one it gets.
 */
async function expectNothingMoreThan(subscription: TestSubscription, userId: string) {
  const count = subscription.received.length;
  await revokeLicense(userId);
  const received = await subscription.waitForData(count + 1);
  expect(received[count].data.licenseEvents).toMatchObject({ type: 'LICENSE_REVOKED', user: { id: userId } });
}

beforeAll(async () => {
  server = await startTestServer();
  await createTestCatalog(server);
  reader = await server.token('audit-service', ['entitlements:read']);
});
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  // Each test starts with no subscription left on the server, so it can wait for its own count.
  await untilSubscribed(() => server.live.feed.listenerCount, 0);
});
afterAll(() => server.stop());

describe('licenseEvents subscription', () => {
  it('pushes each committed event, with the user as an entity reference', async () => {
    const subscription = socketWith(reader).subscribe(LICENSE_EVENTS, { userId: 'sub-1' });
    await subscribed(1, subscription);
    await changeTier('sub-1', 'team');
    await revokeLicense('sub-1');
    const [first, second] = await subscription.waitForData(2);
    expect(first.data.licenseEvents).toMatchObject({
      type: 'TIER_CHANGED',
      user: { id: 'sub-1' },
      toTier: { key: 'team' },
    });
    expect(second.data.licenseEvents).toMatchObject({
      type: 'LICENSE_REVOKED',
      reason: 'fraud',
      actor: 'admin',
    });
  });

  it("gives a user's own token its own events only, and everyone's to entitlements:read", async () => {
    const own = socketWith(await server.token('sub-2')).subscribe(LICENSE_EVENTS);
    const all = socketWith(reader).subscribe(LICENSE_EVENTS);
    await subscribed(2, own, all);
    await changeTier('someone-else', 'team');
    await changeTier('sub-2', 'corp');
    const [allFirst, allSecond] = await all.waitForData(2);
    expect([allFirst.data.licenseEvents.user.id, allSecond.data.licenseEvents.user.id]).toEqual([
      'someone-else',
      'sub-2',
    ]);
    const [ownFirst] = await own.waitForData(1);
    expect(ownFirst.data.licenseEvents.user.id).toBe('sub-2');
    await expectNothingMoreThan(own, 'sub-2');
  });

  it("refuses another user's events with FORBIDDEN", async () => {
    const subscription = socketWith(await server.token('sub-3')).subscribe(LICENSE_EVENTS, {
      userId: 'sub-4',
    });
    await subscription.ended;
    expect(subscription.received[0].errors?.[0].extensions.code).toBe('FORBIDDEN');
  });

  it('replays the stored events after `after`, then goes on live, with no gap and no duplicate', async () => {
    await changeTier('replayed', 'team');
    const first = dataOf(await server.gql('{ licenseEvents(userId: "replayed") { events { id } } }'))
      .licenseEvents.events[0].id;
    for (let i = 0; i < 5; i += 1) await changeTier('replayed', i % 2 === 0 ? 'corp' : 'team');
    // More events commit while the subscription replays.
    const subscription = socketWith(reader).subscribe(LICENSE_EVENTS, { userId: 'replayed', after: first });
    const during = (async () => {
      for (let i = 0; i < 10; i += 1) await changeTier('replayed', i % 2 === 0 ? 'basic' : 'corp');
    })();
    await during;
    const received = await subscription.waitForData(15);
    const stored = dataOf(await server.gql('{ licenseEvents(userId: "replayed") { events { id } } }'))
      .licenseEvents.events;
    expect(received.map((r) => r.data.licenseEvents.id)).toEqual(stored.slice(1).map((e: any) => e.id));
    await expectNothingMoreThan(subscription, 'replayed');
  });

  it('delivers an event whose commit notice was lost, on the next look at the store', async () => {
    const subscription = socketWith(reader).subscribe(LICENSE_EVENTS, { userId: 'unnoticed' });
    await subscribed(1, subscription);
    // As if the process that committed it died before telling anyone: the row alone, no notice.
    await server.dataSource.manager.insert(LicenseEventRow, {
      type: 'LICENSE_REVOKED',
      userId: 'unnoticed',
      featureKey: null,
      grantId: null,
      fromTierKey: null,
      toTierKey: null,
      actor: 'elsewhere',
      reason: 'crash after commit',
      occurredAt: new Date(),
    });
    const [event] = await subscription.waitForData(1, 3000);
    expect(event.data.licenseEvents).toMatchObject({ type: 'LICENSE_REVOKED', actor: 'elsewhere' });
  });

  it('refuses a malformed cursor', async () => {
    const subscription = socketWith(reader).subscribe(LICENSE_EVENTS, { after: 'abc' });
    await subscription.ended;
    expect(subscription.received[0].errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'after',
    });
  });
});

describe('entitlementGranted and entitlementRevoked', () => {
  it('split gains from losses, tier changes by rank', async () => {
    const granted = socketWith(reader).subscribe(GRANTED, { userId: 'sub-5' });
    const revoked = socketWith(reader).subscribe(REVOKED, { userId: 'sub-5' });
    await subscribed(2, granted, revoked);
    const grant = (
      await mutate('mutation { grantEntitlement(input: { userId: "sub-5", feature: "sso" }) { id } }')
    ).grantEntitlement;
    await changeTier('sub-5', 'corp');
    await changeTier('sub-5', 'basic');
    await mutate('mutation($g: ID!) { revokeEntitlement(grantId: $g) { id } }', { g: grant.id });
    await revokeLicense('sub-5');
    await mutate('mutation { restoreLicense(userId: "sub-5") { id } }');
    const gains = await granted.waitForData(3);
    const losses = await revoked.waitForData(3);
    expect(gains.map((r) => r.data.entitlementGranted.type)).toEqual([
      'ENTITLEMENT_GRANTED',
      'TIER_CHANGED',
      'LICENSE_RESTORED',
    ]);
    expect(losses.map((r) => r.data.entitlementRevoked.type)).toEqual([
      'TIER_CHANGED',
      'ENTITLEMENT_REVOKED',
      'LICENSE_REVOKED',
    ]);
  });
});

describe('expiry pushes', () => {
  it('push ENTITLEMENT_EXPIRED and TRIAL_ENDED within 2 seconds, once', async () => {
    const revoked = socketWith(reader).subscribe(REVOKED, { userId: 'sub-6' });
    await subscribed(1, revoked);
    const expiresAt = new Date(Date.now() + 800);
    await mutate(
      'mutation($e: DateTime!) { grantEntitlement(input: { userId: "sub-6", feature: "sso", expiresAt: $e }) { id } }',
      {
        e: expiresAt.toISOString(),
      },
    );
    await mutate('mutation($e: DateTime!) { startTrial(userId: "sub-6", tier: "corp", endsAt: $e) { id } }', {
      e: expiresAt.toISOString(),
    });
    const pushed = await revoked.waitForData(2, 4000);
    expect(Date.now() - expiresAt.getTime()).toBeLessThan(2000);
    expect(pushed.map((r) => r.data.entitlementRevoked.type).sort()).toEqual([
      'ENTITLEMENT_EXPIRED',
      'TRIAL_ENDED',
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(revoked.received).toHaveLength(2);
    const stored = dataOf(await server.gql('{ licenseEvents(userId: "sub-6") { events { type actor } } }'))
      .licenseEvents.events;
    expect(stored.filter((e: any) => e.actor === 'system')).toHaveLength(2);
  });

  it('record nothing for a trial ended by hand, or a grant revoked before it expires', async () => {
    const endsAt = new Date(Date.now() + 600).toISOString();
    await mutate('mutation($e: DateTime!) { startTrial(userId: "sub-7", tier: "corp", endsAt: $e) { id } }', {
      e: endsAt,
    });
    await mutate('mutation { endTrial(userId: "sub-7") { id } }');
    const grant = (
      await mutate(
        'mutation($e: DateTime!) { grantEntitlement(input: { userId: "sub-7", feature: "sso", expiresAt: $e }) { id } }',
        {
          e: endsAt,
        },
      )
    ).grantEntitlement;
    await mutate('mutation($g: ID!) { revokeEntitlement(grantId: $g) { id } }', { g: grant.id });
    // A sweep as of after the old end, instead of waiting for the sweeper to get there.
    await server.services.expiries.recordDue(new Date(Date.parse(endsAt) + 1000));
    const stored = dataOf(await server.gql('{ licenseEvents(userId: "sub-7") { events { type } } }'))
      .licenseEvents.events;
    expect(stored.map((e: any) => e.type)).toEqual([
      'TRIAL_STARTED',
      'TRIAL_ENDED',
      'ENTITLEMENT_GRANTED',
      'ENTITLEMENT_REVOKED',
    ]);
  });
});

describe('socket authentication', () => {
  it('closes a socket without a token, or with a bad one, with 4401 and the reason', async () => {
    expect(await socketWith(null).closed).toMatchObject({ code: 4401, reason: 'A bearer token is required' });
    expect(await socketWith('not-a-token').closed).toMatchObject({
      code: 4401,
      reason: 'The token is invalid',
    });
  });

  it.each(['token', 'header'] as const)('accepts the token as %s', async (how) => {
    const subscription = socketWith(reader, how).subscribe(LICENSE_EVENTS, { userId: `via-${how}` });
    await subscribed(1, subscription);
    await changeTier(`via-${how}`, 'team');
    const [event] = await subscription.waitForData(1);
    expect(event.data.licenseEvents).toMatchObject({ type: 'TIER_CHANGED', user: { id: `via-${how}` } });
  });

  it('closes the socket with 4403 when the token expires', async () => {
    const shortLived = await server.token('sub-8', [], 2);
    const socket = socketWith(shortLived);
    socket.subscribe(LICENSE_EVENTS);
    const startedAt = Date.now();
    expect((await socket.closed).code).toBe(4403);
    expect(Date.now() - startedAt).toBeLessThan(3500);
  });
});

describe('limits over WebSocket', () => {
  it('refuses a subscription over the depth limit with GRAPHQL_VALIDATION_FAILED', async () => {
    const deep = `subscription { licenseEvents { grant { user { entitlements { grants { user { entitlements { grants { user { entitlements { grants { user { id } } } } } } } } } } } } }`;
    const subscription = socketWith(reader).subscribe(deep);
    await subscription.ended;
    expect(subscription.received[0].errors?.[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('resources', () => {
  it('opening and closing 1,000 subscriptions leaves no listener behind', async () => {
    const socket = socketWith(reader);
    const before = server.live.feed.listenerCount;
    const subscriptions = Array.from({ length: 1000 }, (_, i) =>
      socket.subscribe(LICENSE_EVENTS, { userId: `many-${i % 10}` }),
    );
    await waitUntil(() => server.live.feed.listenerCount >= before + 1000, { timeoutMs: 7500 });
    expect(server.live.feed.listenerCount).toBe(before + 1000);
    subscriptions.forEach((subscription) => subscription.unsubscribe());
    await waitUntil(() => server.live.feed.listenerCount <= before, { timeoutMs: 7500 });
    expect(server.live.feed.listenerCount).toBe(before);
  });
});

describe('shared execution', () => {
  it('resolves an event once for every subscription of one caller asking the same, each caller its own', async () => {
    const query = `subscription($userId: ID) { licenseEvents(userId: $userId) { type user { id tier { key } entitlements { feature { key } } } } }`;
    const statementsDuring = async (work: () => Promise<unknown>) => {
      const before = server.queries.count;
      await work();
      return server.queries.count - before;
    };
    // What one execution costs: one read of the user's license batch.
    const oneExecution = await statementsDuring(() =>
      server.gql(
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id tier { key } entitlements { feature { key } } } } }',
        { r: [{ __typename: 'User', id: 'shared-0' }] },
      ),
    );
    // A change pushed to one subscription: the change itself, the feed's read and one execution.
    const alone = socketWith(await server.token('shared-0')).subscribe(query, {});
    await subscribed(1, alone);
    const pushedOnce = await statementsDuring(async () => {
      await changeTier('shared-0', 'team');
      await alone.waitForData(1);
    });

    const service = Array.from({ length: 10 }, () => socketWith(reader));
    const watchers = service.flatMap((socket) =>
      [1, 2, 3].map(() => socket.subscribe(query, { userId: 'shared-1' })),
    );
    const own = socketWith(await server.token('shared-1')).subscribe(query, {});
    await subscribed(32, own, ...watchers);

    let expected: any;
    const pushedToAll = await statementsDuring(async () => {
      await changeTier('shared-1', 'team');
      [expected] = await own.waitForData(1);
      for (const watcher of watchers) expect((await watcher.waitForData(1))[0]).toEqual(expected);
    });
    expect(expected.data.licenseEvents.user).toMatchObject({ id: 'shared-1', tier: { key: 'team' } });
    // One more execution than for one subscription: the service's 30 subscriptions share one. Thirty-one
    // executions would cost thirty more, one per service socket ten more; the margin leaves room for the
    // server's background reads (event polls, expiry sweeps) that fall in the window, now that an execution
    // is only a few statements.
    expect(pushedToAll).toBeLessThan(pushedOnce + 5 * oneExecution);
  });
});

describe('shutdown', () => {
  it('closes open sockets with 1001', async () => {
    const own = await startTestServer();
    const socket = openSocket(own.wsUrl, { connectionParams: { token: reader } });
    const subscription = socket.subscribe(LICENSE_EVENTS);
    await untilSubscribed(() => own.live.feed.listenerCount, 1, [subscription]);
    await own.stop();
    expect((await socket.closed).code).toBe(1001);
  });
});

describe('revoking a grant that has just expired', () => {
  it('records its expiry, once, and no revocation of access it no longer gave', async () => {
    // The sweeper must not get there first: this test is about revoking before it looks.
    const own = await startTestServer({ backgroundJobs: false });
    try {
      await createTestCatalog(own);
      const expiresAt = new Date(Date.now() + 300).toISOString();
      const { grantEntitlement } = dataOf(
        await own.gql(
          'mutation($e: DateTime!) { grantEntitlement(input: { userId: "late", feature: "sso", expiresAt: $e }) { id } }',
          {
            e: expiresAt,
          },
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 400));
      const revoked = dataOf(
        await own.gql('mutation($g: ID!) { revokeEntitlement(grantId: $g) { id revokedAt } }', {
          g: grantEntitlement.id,
        }),
      ).revokeEntitlement;
      expect(revoked.revokedAt).toBeNull();
      expect(await own.services.expiries.recordDue()).toBe(0);
      const events = dataOf(
        await own.gql('{ licenseEvents(userId: "late") { events { type actor occurredAt } } }'),
      ).licenseEvents.events;
      expect(events.map((e: any) => [e.type, e.actor])).toEqual([
        ['ENTITLEMENT_GRANTED', 'admin'],
        ['ENTITLEMENT_EXPIRED', 'system'],
      ]);
      expect(events[1].occurredAt).toBe(new Date(expiresAt).toISOString());
    } finally {
      await own.stop();
    }
  });
});

describe('ROUTER_SECRET on sockets', () => {
  it('closes a socket without the router secret with 4401, and accepts one with it', async () => {
    const guarded = await startTestServer({ env: { ROUTER_SECRET: 's3cret' } });
    try {
      const token = await guarded.token('svc', ['entitlements:read']);
      const without = openSocket(guarded.wsUrl, { connectionParams: { token } });
      expect((await without.closed).code).toBe(4401);
      const withSecret = openSocket(guarded.wsUrl, {
        connectionParams: { token },
        headers: { 'router-authorization': 's3cret' },
      });
      const subscription = withSecret.subscribe(LICENSE_EVENTS, { userId: 'guarded' });
      await untilSubscribed(() => guarded.live.feed.listenerCount, 1, [subscription]);
      dataOf(
        await postGraphQL(
          guarded.url,
          'mutation { revokeLicense(userId: "guarded", reason: "r") { id } }',
          {},
          {
            authorization: `Bearer ${await guarded.token('admin', ['entitlements:write'])}`,
            'router-authorization': 's3cret',
          },
        ),
      );
      const [event] = await subscription.waitForData(1);
      expect(event.data.licenseEvents).toMatchObject({ type: 'LICENSE_REVOKED', user: { id: 'guarded' } });
      await withSecret.close();
    } finally {
      await guarded.stop();
    }
  });
});
