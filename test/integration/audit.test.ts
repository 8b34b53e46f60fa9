import type { EntityManager } from 'typeorm';

import { authenticated, Scope } from '../../src/auth/caller';
import { CatalogStore } from '../../src/db/catalog-store';
import { LicenseRow } from '../../src/db/entities';
import { LicenseStore } from '../../src/db/license-store';
import { WebhookQueue } from '../../src/db/webhook-queue';
import { CommittedEvents } from '../../src/events/committed-events';
import { IdempotencyStore } from '../../src/services/idempotency';
import { LicenseService } from '../../src/services/license.service';
import type { NewLicenseEvent } from '../../src/services/license-event.service';
import { LicenseEventLog } from '../../src/services/license-event.service';
import { createTestCatalog } from '../testkit/catalog';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await createTestCatalog(server);
});
afterAll(() => server.stop());

const EVENTS = `query($userId: ID, $after: ID, $first: Int) {
  licenseEvents(userId: $userId, after: $after, first: $first) {
    events { id type user { id } feature { key } grant { id active } fromTier { key } toTier { key } actor reason occurredAt }
    endCursor
    hasMore
  }
}`;

describe('the audit trail', () => {
  it('records one event per change, with its details, oldest first', async () => {
    const userId = 'audited';
    const endsAt = new Date(Date.now() + 86_400_000).toISOString();
    const { grantEntitlement } = dataOf(
      await server.gql(
        `mutation { grantEntitlement(input: { userId: "${userId}", feature: "sso", reason: "deal" }) { id } }`,
      ),
    );
    dataOf(
      await server.gql(
        `mutation($endsAt: DateTime!) {
        a: changeTier(userId: "${userId}", tier: "team", reason: "upgrade") { id }
        b: startTrial(userId: "${userId}", tier: "corp", endsAt: $endsAt) { id }
        c: endTrial(userId: "${userId}") { id }
        d: revokeLicense(userId: "${userId}", reason: "fraud") { id }
        e: restoreLicense(userId: "${userId}", reason: "cleared") { id }
      }`,
        { endsAt },
      ),
    );
    dataOf(
      await server.gql(
        `mutation { revokeEntitlement(grantId: "${grantEntitlement.id}", reason: "ended") { id } }`,
      ),
    );

    const page = dataOf(await server.gql(EVENTS, { userId })).licenseEvents;
    expect(page.events.map((e: any) => e.type)).toEqual([
      'ENTITLEMENT_GRANTED',
      'TIER_CHANGED',
      'TRIAL_STARTED',
      'TRIAL_ENDED',
      'LICENSE_REVOKED',
      'LICENSE_RESTORED',
      'ENTITLEMENT_REVOKED',
    ]);
    const [granted, tierChanged, trialStarted, trialEnded, revoked, , grantRevoked] = page.events;
    expect(granted).toMatchObject({
      user: { id: userId },
      feature: { key: 'sso' },
      grant: { id: grantEntitlement.id, active: false },
      actor: 'admin',
      reason: 'deal',
    });
    expect(tierChanged).toMatchObject({
      fromTier: { key: 'basic' },
      toTier: { key: 'team' },
      reason: 'upgrade',
    });
    expect(trialStarted).toMatchObject({ fromTier: { key: 'team' }, toTier: { key: 'corp' } });
    expect(trialEnded).toMatchObject({ fromTier: { key: 'corp' }, toTier: { key: 'team' } });
    expect(revoked.reason).toBe('fraud');
    expect(grantRevoked).toMatchObject({ grant: { id: grantEntitlement.id }, reason: 'ended' });
    const ids = page.events.map((e: any) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(page).toMatchObject({ hasMore: false, endCursor: page.events[6].id });
  });

  it('records nothing for a change that changes nothing', async () => {
    const userId = 'idle';
    dataOf(
      await server.gql(`mutation {
        a: endTrial(userId: "${userId}") { id }
        b: restoreLicense(userId: "${userId}") { id }
        c: changeTier(userId: "${userId}", tier: "basic") { id }
      }`),
    );
    expect(dataOf(await server.gql(EVENTS, { userId })).licenseEvents.events).toEqual([]);
  });

  it('pages with after and first, and across all users without userId', async () => {
    for (let i = 0; i < 5; i += 1) {
      dataOf(await server.gql(`mutation { revokeLicense(userId: "pager-${i}", reason: "r") { id } }`));
    }
    const all = dataOf(await server.gql(EVENTS, { first: 1000 })).licenseEvents.events;
    const pagers = all.filter((e: any) => e.user.id.startsWith('pager-'));
    expect(pagers).toHaveLength(5);

    const first = dataOf(await server.gql(EVENTS, { after: pagers[0].id, first: 2 })).licenseEvents;
    expect(first.events.map((e: any) => e.id)).toEqual([pagers[1].id, pagers[2].id]);
    expect(first).toMatchObject({ hasMore: true, endCursor: pagers[2].id });
    const rest = dataOf(await server.gql(EVENTS, { after: first.endCursor, first: 10 })).licenseEvents;
    expect(rest.events.map((e: any) => e.id)).toEqual([pagers[3].id, pagers[4].id]);
    expect(rest.hasMore).toBe(false);

    const empty = dataOf(await server.gql(EVENTS, { after: pagers[4].id })).licenseEvents;
    // Nothing new: the cursor stays put, so a client can poll with it.
    expect(empty).toEqual({ events: [], endCursor: pagers[4].id, hasMore: false });
  });

  it.each([
    [{ first: 0 }, 'first'],
    [{ first: 1001 }, 'first'],
    [{ after: 'abc' }, 'after'],
    [{ userId: '' }, 'userId'],
  ])('refuses %j with BAD_USER_INPUT', async (variables, field) => {
    const response = await server.gql(EVENTS, variables);
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });
});

const admin = authenticated('admin', [Scope.write], null);

/** An audit log whose write fails, as a full disk or a lost connection would make it. */
class FailingEventLog extends LicenseEventLog {
  async record(manager: EntityManager, event: NewLicenseEvent, occurredAt: Date): Promise<string> {
    await super.record(manager, event, occurredAt);
    throw new Error('the audit write failed');
  }
}

describe('a mutation that fails midway', () => {
  it('stores neither the change nor its event', async () => {
    const licenses = new LicenseService(
      server.db,
      new LicenseStore(server.db, new CatalogStore(server.db), 'basic'),
      new FailingEventLog(server.db, new WebhookQueue(server.db), new CommittedEvents()),
      new IdempotencyStore(server.db),
      server.services.expiries,
      server.services.organizations,
      'basic',
    );
    await expect(licenses.changeTier(admin, 'rolled-back', 'team')).rejects.toThrow('the audit write failed');
    await expect(licenses.grantEntitlement(admin, { userId: 'rolled-back', feature: 'sso' })).rejects.toThrow(
      'the audit write failed',
    );

    expect(await server.dataSource.manager.findOneBy(LicenseRow, { userId: 'rolled-back' })).toBeNull();
    const user = dataOf(
      await server.gql(
        '{ _entities(representations: [{ __typename: "User", id: "rolled-back" }]) { ... on User { tier { key } entitlements { feature { key } } } } }',
      ),
    )._entities[0];
    expect(user.tier.key).toBe('basic');
    expect(user.entitlements.map((e: any) => e.feature.key)).not.toContain('sso');
    expect(dataOf(await server.gql(EVENTS, { userId: 'rolled-back' })).licenseEvents.events).toEqual([]);
  });
});
