import { randomUUID } from 'node:crypto';

import { authenticated, Scope } from '../../src/auth/caller';
import { GrantRow, LicenseEventRow, OverrideRow } from '../../src/db/entities';
import { ExpiryService } from '../../src/services/expiry.service';
import { createTestCatalog } from '../testkit/catalog';
import { onMysql } from '../testkit/database';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

describe('recording expiries', () => {
  let server: TestServer;
  beforeAll(async () => {
    // The test drives the sweeps itself.
    server = await startTestServer({ backgroundJobs: false });
    await createTestCatalog(server);
  });
  afterAll(() => server.stop());

  /** The user's stored events, oldest first, as rows (with what the API does not show). */
  const storedEventsOf = (userId: string) =>
    server.dataSource.manager.find(LicenseEventRow, { where: { userId }, order: { id: 'ASC' } });

  /** A second replica's sweeper, on the same database. */
  const anotherReplica = () =>
    new ExpiryService(server.db, server.services.licenseEventLog, 'basic', server.services.overrides);

  it('records 300 expiries that come due together exactly once, with two replicas sweeping at the same time', async () => {
    const expired = new Date(Date.now() - 1000);
    const grants = Array.from({ length: 300 }, (_, i) => ({
      id: randomUUID(),
      userId: `mass-${i % 30}`,
      featureKey: 'sso',
      limit: null,
      value: null,
      startsAt: new Date(expired.getTime() - 60_000),
      expiresAt: expired,
      revokedAt: null,
      revokeReason: null,
      grantedBy: 'test',
      reason: null,
      createdAt: new Date(expired.getTime() - 60_000),
      expiryRecordedAt: null,
    }));
    for (let i = 0; i < grants.length; i += 100)
      await server.dataSource.manager.insert(GrantRow, grants.slice(i, i + 100));

    const otherReplica = anotherReplica();
    const [mine, theirs] = await Promise.all([
      server.services.expiries.recordDue(),
      otherReplica.recordDue(),
    ]);
    expect(mine + theirs).toBe(300);

    const events = await server.dataSource.manager.findBy(LicenseEventRow, { type: 'ENTITLEMENT_EXPIRED' });
    expect(events).toHaveLength(300);
    expect(new Set(events.map((event) => event.grantId)).size).toBe(300);
    expect(await server.services.expiries.recordDue()).toBe(0);
  });

  it('records overrides that run out together exactly once each, with two replicas sweeping, and none that ended first', async () => {
    const expired = new Date(Date.now() - 1000);
    const override = (userId: string, featureKey: string, extra: Partial<OverrideRow> = {}): OverrideRow => ({
      id: randomUUID(),
      userId,
      featureKey,
      effect: 'DENY',
      limit: null,
      value: null,
      expiresAt: expired,
      reason: null,
      createdBy: 'test',
      createdAt: new Date(expired.getTime() - 60_000),
      endedAt: null,
      expiryRecordedAt: null,
      ...extra,
    });
    const due = Array.from({ length: 240 }, (_, i) => override(`denied-${i % 120}`, i < 120 ? 'sso' : 'api'));
    const notDue = [
      override('denied-0', 'audit', { endedAt: new Date(expired.getTime() - 1) }),
      override('denied-1', 'audit', { expiresAt: new Date(Date.now() + 3_600_000) }),
      override('denied-2', 'audit', { expiresAt: null }),
    ];
    for (let i = 0; i < due.length; i += 100)
      await server.dataSource.manager.insert(OverrideRow, due.slice(i, i + 100));
    await server.dataSource.manager.insert(OverrideRow, notDue);

    const [mine, theirs] = await Promise.all([
      server.services.expiries.recordDue(),
      anotherReplica().recordDue(),
    ]);
    expect(mine + theirs).toBe(240);

    const events = await server.dataSource.manager.findBy(LicenseEventRow, { type: 'OVERRIDE_EXPIRED' });
    expect(events).toHaveLength(240);
    expect(new Set(events.map((event) => `${event.userId}/${event.featureKey}`)).size).toBe(240);
    expect(events.every((event) => event.occurredAt.getTime() === expired.getTime())).toBe(true);
    // A DENY of sso, which the default tier does not give, changed no access; a DENY of api did.
    expect(
      events.filter((event) => event.accessChange === 'GAINED').map((event) => event.featureKey),
    ).toEqual(Array(120).fill('api'));
    expect(events.filter((event) => event.accessChange === null)).toHaveLength(120);
    expect(await anotherReplica().recordDue()).toBe(0);
    const rows = await server.dataSource.manager.findBy(OverrideRow, {});
    expect(rows.filter((row) => row.expiryRecordedAt !== null)).toHaveLength(240);
  });
  it('judges an override as at its end: an override set after it, before the sweep, is not what it gave way to', async () => {
    const set = (input: Record<string, unknown>) =>
      server.gql('mutation($input: SetOverrideInput!) { setOverride(input: $input) { id } }', {
        input: { userId: 'outrun', feature: 'api', ...input },
      });
    const expiresAt = new Date(Date.now() + 300);
    // The tier gives api 100: a LIMIT of 5 that runs out gives access back...
    dataOf(await set({ effect: 'LIMIT', limit: 5, expiresAt: expiresAt.toISOString() }));
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 100));
    // ...even when a DENY came after its end and before the sweep.
    dataOf(await set({ effect: 'DENY' }));
    expect(await server.services.expiries.recordDue()).toBe(1);
    const events = await storedEventsOf('outrun');
    expect(events.map((event) => [event.type, event.accessChange])).toEqual([
      ['OVERRIDE_SET', 'LOST'],
      ['OVERRIDE_SET', 'LOST'],
      ['OVERRIDE_EXPIRED', 'GAINED'],
    ]);
  });

  it('records the end of a trial that ran out unswept once, when a new trial replaces it', async () => {
    const start = async (tier: string, endsAt: Date) =>
      dataOf(
        await server.gql(
          'mutation($t: ID!, $e: DateTime!) { startTrial(userId: "re-trial", tier: $t, endsAt: $e) { id } }',
          {
            t: tier,
            e: endsAt.toISOString(),
          },
        ),
      );
    const firstEnd = new Date(Date.now() + 300);
    await start('team', firstEnd);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // No sweep ran: the first trial's end is not on record when the second one starts.
    await start('corp', new Date(Date.now() + 3_600_000));
    expect(await server.services.expiries.recordDue()).toBe(0);
    const events = await storedEventsOf('re-trial');
    expect(events.map((event) => [event.type, event.toTierKey])).toEqual([
      ['TRIAL_STARTED', 'team'],
      ['TRIAL_ENDED', 'basic'],
      ['TRIAL_STARTED', 'corp'],
    ]);
    expect(events[1].occurredAt.getTime()).toBe(firstEnd.getTime());
  });
  // SQLite runs one transaction at a time: nothing holds a row while the sweeper looks.
  (onMysql ? it : it.skip)(
    "records a trial's end within 2 s while its user is metered without a pause by four callers",
    async () => {
      const endsAt = new Date(Date.now() + 500);
      dataOf(
        await server.gql(
          'mutation($e: DateTime!) { startTrial(userId: "busy", tier: "team", endsAt: $e) { id } }',
          {
            e: endsAt.toISOString(),
          },
        ),
      );
      let metering = true;
      const meter = async (subject: string) => {
        const caller = authenticated(subject, [Scope.usageWrite], null);
        while (metering) await server.services.usage.recordUsage(caller, { userId: 'busy', feature: 'api' });
      };
      const callers = ['m1', 'm2', 'm3', 'm4'].map(meter);
      const trialEnded = () =>
        server.dataSource.manager.existsBy(LicenseEventRow, { userId: 'busy', type: 'TRIAL_ENDED' });
      let recordedAfter: number | null = null;
      try {
        // The sweeps, as the background job runs them.
        while (Date.now() < endsAt.getTime() + 3000) {
          await server.services.expiries.recordDue();
          if (await trialEnded()) {
            recordedAfter = Date.now() - endsAt.getTime();
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      } finally {
        metering = false;
        await Promise.all(callers);
      }
      expect(recordedAfter).not.toBeNull();
      expect(recordedAfter!).toBeLessThan(2000);
    },
    15_000,
  );
  (onMysql ? it : it.skip)(
    'records every other expiry first while it waits for a row another transaction holds',
    async () => {
      const endsAt = new Date(Date.now() + 200);
      const { grantEntitlement } = dataOf(
        await server.gql(
          'mutation($e: DateTime!) { grantEntitlement(input: { userId: "held", feature: "sso", expiresAt: $e }) { id } }',
          { e: endsAt.toISOString() },
        ),
      );
      dataOf(
        await server.gql(
          'mutation($e: DateTime!) { startTrial(userId: "free", tier: "team", endsAt: $e) { id } }',
          {
            e: endsAt.toISOString(),
          },
        ),
      );
      // Both overdue by the time the sweep runs; the grant held by a transaction that has not committed.
      await new Promise((resolve) => setTimeout(resolve, 1400));
      const holder = server.dataSource.createQueryRunner();
      await holder.startTransaction();
      await holder.query('SELECT * FROM grants WHERE id = ? FOR UPDATE', [grantEntitlement.id]);
      const recorded = (userId: string, type: LicenseEventRow['type']) =>
        server.dataSource.manager.existsBy(LicenseEventRow, { userId, type });
      const sweep = server.services.expiries.recordDue();
      let whileHeld: boolean[];
      try {
        const waitUntil = Date.now() + 1500;
        while (!(await recorded('free', 'TRIAL_ENDED')) && Date.now() < waitUntil) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        whileHeld = [await recorded('free', 'TRIAL_ENDED'), await recorded('held', 'ENTITLEMENT_EXPIRED')];
      } finally {
        await holder.commitTransaction();
        await holder.release();
      }
      expect(await sweep).toBe(2);
      expect(whileHeld).toEqual([true, false]);
      expect(await recorded('held', 'ENTITLEMENT_EXPIRED')).toBe(true);
    },
    15_000,
  );
});
