import { randomUUID } from 'node:crypto';

import { ScimUserRow } from '../../src/db/entities';
import type { ScimCall } from '../testkit/scim';
import {
  createScimToken,
  licenseStatus,
  scimClient,
  startProvisioningStage,
  stopProvisioningStage,
} from '../testkit/scim';
import type { TestServer } from '../testkit/server';
import { dataOf, mintToken } from '../testkit/server';
import type { TestSocket, TestSubscription } from '../testkit/subscriptions';
import { untilSubscribed } from '../testkit/subscriptions';

/**
 * Tiers from identity attributes (rule S4): a group of the identity directory mapped to a tier by setGroupTier
 * gives its members that tier, at once on every replica, and each change is stored and pushed. Provisioning and
 * mutations go to one server; on MariaDB reads and subscriptions are on a second one on the same database.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let provisioning: TestServer;
let replica: TestServer;
let socket: TestSocket;

beforeAll(async () => {
  ({ provisioning, replica, socket } = await startProvisioningStage());
});
afterAll(() => stopProvisioningStage({ provisioning, replica, socket }));

const SET_GROUP_TIER = 'mutation($g: String!, $t: ID) { setGroupTier(group: $g, tier: $t) }';

async function setGroupTier(group: string, tier: string | null): Promise<void> {
  expect(dataOf(await provisioning.gql(SET_GROUP_TIER, { g: group, t: tier })).setGroupTier).toBe(true);
}

/** The user's effective tier and whether it may export PDFs (pro and up) or use SSO (enterprise), on the replica. */
async function tierOf(userId: string): Promise<{ tier: string; pdf: boolean; sso: boolean }> {
  const { _entities } = dataOf(
    await replica.gql(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User {
        tier { key } pdf: hasEntitlement(feature: "export.pdf") sso: hasEntitlement(feature: "sso")
      } } }`,
      { r: [{ __typename: 'User', id: userId }] },
    ),
  );
  const [user] = _entities as any[];
  return { tier: user.tier.key, pdf: user.pdf, sso: user.sso };
}

async function provision(scim: ScimCall, externalId: string): Promise<string> {
  const created = await scim('POST', '/Users', {
    schemas: [USER],
    userName: `${externalId}@example.com`,
    externalId,
    active: true,
  });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

/** Subscriptions on the replica for `userId`, open before anything changes. */
async function watch(userId: string): Promise<Record<'granted' | 'revoked' | 'events', TestSubscription>> {
  const before = replica.live.feed.listenerCount;
  const fields = 'type actor reason fromTier { key } toTier { key }';
  const granted = socket.subscribe(`subscription($u: ID) { entitlementGranted(userId: $u) { ${fields} } }`, {
    u: userId,
  });
  const revoked = socket.subscribe(`subscription($u: ID) { entitlementRevoked(userId: $u) { ${fields} } }`, {
    u: userId,
  });
  const events = socket.subscribe(`subscription($u: ID) { licenseEvents(userId: $u) { ${fields} } }`, {
    u: userId,
  });
  await untilSubscribed(() => replica.live.feed.listenerCount, before + 3, [granted, revoked, events]);
  return { granted, revoked, events };
}

const tierChange = (actor: string, from: string, to: string, reason: string) => ({
  type: 'TIER_CHANGED',
  actor,
  reason,
  fromTier: { key: from },
  toTier: { key: to },
});

describe('setGroupTier', () => {
  it('refuses what it must, changing nothing', async () => {
    const listed = async () =>
      dataOf(await provisioning.gql('{ groupTiers { group tier { key } } }')).groupTiers;
    const eventCount = async () =>
      Number((await provisioning.dataSource.query('SELECT COUNT(*) AS n FROM license_events'))[0].n);
    const [mappingsBefore, eventsBefore] = [await listed(), await eventCount()];

    const reader = await mintToken('reader', ['entitlements:read']);
    for (const [token, code] of [
      [reader, 'FORBIDDEN'],
      [null, 'UNAUTHENTICATED'],
    ] as const) {
      const refused = await provisioning.gqlAs(token, SET_GROUP_TIER, { g: 'Engineering', t: 'pro' });
      expect(refused.errors?.[0].extensions.code).toBe(code);
    }
    for (const [group, tier, code, field] of [
      ['', 'pro', 'BAD_USER_INPUT', 'group'],
      ['x'.repeat(256), 'pro', 'BAD_USER_INPUT', 'group'],
      ['half \ud800 a pair', 'pro', 'BAD_USER_INPUT', 'group'],
      ['Engineering', 'Not A Key', 'BAD_USER_INPUT', 'tier'],
      ['Engineering', 'no-such-tier', 'NOT_FOUND', undefined],
    ] as const) {
      const refused = await provisioning.gql(SET_GROUP_TIER, { g: group, t: tier });
      expect(refused.errors?.[0].extensions).toMatchObject({ code, ...(field ? { field } : {}) });
    }
    expect(await listed()).toEqual(mappingsBefore);
    expect(await eventCount()).toBe(eventsBefore);
  });

  it('maps a name in any case, lists it, and removes it (a removal of nothing is no error)', async () => {
    await setGroupTier('Support Staff', 'pro');
    const { groupTiers } = dataOf(
      await replica.gql('{ groupTiers { group tier { key } updatedBy updatedAt } }'),
    );
    expect(groupTiers).toContainEqual({
      group: 'Support Staff',
      tier: { key: 'pro' },
      updatedBy: 'admin',
      updatedAt: expect.any(String),
    });
    await setGroupTier('SUPPORT STAFF', null);
    await setGroupTier('never mapped', null);
    const after = dataOf(await replica.gql('{ groupTiers { group } }')).groupTiers;
    expect(after.map((mapping: any) => mapping.group)).not.toContain('Support Staff');
    expect(after.map((mapping: any) => mapping.group)).not.toContain('never mapped');
  });
});

describe("a group's tier, from the identity provider's groups", () => {
  it('takes effect at once and is undone at once: mapping set and removed, members added and removed, group renamed and deleted, user deleted; each stored and pushed', async () => {
    const { id: tokenId, token } = await createScimToken(provisioning);
    const scim = scimClient(provisioning.url, token);
    const actor = `scim:${tokenId}`;
    const dana = await provision(scim, 'dana-1');
    const eve = await provision(scim, 'eve-1');
    const pushed = await watch('dana-1');

    const group = await scim('POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'Engineering',
      members: [{ value: dana }],
    });
    const groupId = group.body.id as string;
    expect(await tierOf('dana-1')).toEqual({ tier: 'basic', pdf: false, sso: false });

    // The mapping: at once on the replica, for members only.
    await setGroupTier('engineering', 'pro');
    expect(await tierOf('dana-1')).toEqual({ tier: 'pro', pdf: true, sso: false });
    expect(await tierOf('eve-1')).toMatchObject({ tier: 'basic' });
    const gained = 'group "Engineering" gives tier pro';
    expect((await pushed.granted.waitForData(1))[0].data.entitlementGranted).toEqual(
      tierChange('admin', 'basic', 'pro', `${gained} (setGroupTier)`),
    );

    // Okta adds eve; Entra removes dana (capital op, members by value).
    await scim('PATCH', `/Groups/${groupId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: 'members', value: [{ value: eve, display: 'eve-1@example.com' }] }],
    });
    expect(await tierOf('eve-1')).toMatchObject({ tier: 'pro', pdf: true });
    await scim('PATCH', `/Groups/${groupId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'Remove', path: 'members', value: [{ value: dana }] }],
    });
    expect(await tierOf('dana-1')).toEqual({ tier: 'basic', pdf: false, sso: false });
    const lost = 'group "Engineering" no longer gives tier pro';
    const changed = '(group changed at the identity provider (SCIM))';
    expect((await pushed.revoked.waitForData(1))[0].data.entitlementRevoked).toEqual(
      tierChange(actor, 'pro', 'basic', `${lost} ${changed}`),
    );

    // Back in, then mapped higher, then the mapping removed.
    await scim('PATCH', `/Groups/${groupId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: 'members', value: [{ value: dana }] }],
    });
    expect(await tierOf('dana-1')).toMatchObject({ tier: 'pro' });
    await setGroupTier('Engineering', 'enterprise');
    expect(await tierOf('dana-1')).toEqual({ tier: 'enterprise', pdf: true, sso: true });
    await setGroupTier('Engineering', null);
    expect(await tierOf('dana-1')).toEqual({ tier: 'basic', pdf: false, sso: false });
    expect(await tierOf('eve-1')).toMatchObject({ tier: 'basic' });

    // A mapping follows the name: renamed away, the group gives nothing; renamed back, it gives again.
    await setGroupTier('Engineering', 'pro');
    const rename = (displayName: string) =>
      scim('PATCH', `/Groups/${groupId}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', value: { id: groupId, displayName } }],
      });
    await rename('Platform');
    expect(await tierOf('dana-1')).toMatchObject({ tier: 'basic' });
    await rename('ENGINEERING');
    expect(await tierOf('dana-1')).toMatchObject({ tier: 'pro' });

    // The group deleted, then provisioned again; then the user deleted.
    expect((await scim('DELETE', `/Groups/${groupId}`)).status).toBe(204);
    expect(await tierOf('dana-1')).toMatchObject({ tier: 'basic' });
    await scim(
      'PUT',
      `/Groups/${(await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Engineering' })).body.id}`,
      {
        schemas: [GROUP],
        displayName: 'Engineering',
        members: [{ value: dana }],
      },
    );
    expect(await tierOf('dana-1')).toMatchObject({ tier: 'pro' });
    expect((await scim('DELETE', `/Users/${dana}`)).status).toBe(204);
    expect(await tierOf('dana-1')).toMatchObject({ tier: 'basic', pdf: false });
    expect(await licenseStatus(replica, 'dana-1')).toBe('REVOKED');

    const expected = [
      tierChange('admin', 'basic', 'pro', `${gained} (setGroupTier)`),
      tierChange(actor, 'pro', 'basic', `${lost} ${changed}`),
      tierChange(actor, 'basic', 'pro', `${gained} ${changed}`),
      tierChange(
        'admin',
        'pro',
        'enterprise',
        'group "Engineering" gives tier enterprise instead of pro (setGroupTier)',
      ),
      tierChange(
        'admin',
        'enterprise',
        'basic',
        'group "Engineering" no longer gives tier enterprise (setGroupTier)',
      ),
      tierChange('admin', 'basic', 'pro', `${gained} (setGroupTier)`),
      tierChange(actor, 'pro', 'basic', `${lost} ${changed}`),
      tierChange(actor, 'basic', 'pro', `group "ENGINEERING" gives tier pro ${changed}`),
      tierChange(
        actor,
        'pro',
        'basic',
        'group "ENGINEERING" no longer gives tier pro (group deleted at the identity provider (SCIM))',
      ),
      tierChange(actor, 'basic', 'pro', `${gained} ${changed}`),
      tierChange(actor, 'pro', 'basic', `${lost} (deleted by the identity provider (SCIM))`),
      {
        type: 'LICENSE_REVOKED',
        actor,
        reason: 'deleted by the identity provider (SCIM)',
        fromTier: null,
        toTier: null,
      },
    ];
    const live = (await pushed.events.waitForData(expected.length)).map((event) => event.data.licenseEvents);
    expect(live).toEqual(expected);
    const stored = dataOf(
      await replica.gql(
        '{ licenseEvents(userId: "dana-1") { events { type actor reason fromTier { key } toTier { key } } } }',
      ),
    ).licenseEvents.events;
    expect(stored).toEqual(expected);
    // Each change that took access away was pushed on entitlementRevoked, each that gave some on entitlementGranted.
    const summary = (event: any) => `${event.type} ${event.fromTier?.key ?? '-'}>${event.toTier?.key ?? '-'}`;
    expect((await pushed.revoked.waitForData(6)).map((e) => summary(e.data.entitlementRevoked))).toEqual([
      'TIER_CHANGED pro>basic',
      'TIER_CHANGED enterprise>basic',
      'TIER_CHANGED pro>basic',
      'TIER_CHANGED pro>basic',
      'TIER_CHANGED pro>basic',
      'LICENSE_REVOKED ->-',
    ]);
    expect((await pushed.granted.waitForData(6)).map((e) => summary(e.data.entitlementGranted))).toEqual([
      'TIER_CHANGED basic>pro',
      'TIER_CHANGED basic>pro',
      'TIER_CHANGED pro>enterprise',
      'TIER_CHANGED basic>pro',
      'TIER_CHANGED basic>pro',
      'TIER_CHANGED basic>pro',
    ]);
  });

  it("a group of an organization's directory gives no tier", async () => {
    await provisioning.gql(
      'mutation { setOrganizationLicense(input: { organizationId: "org-g", tier: "free" }) { id } }',
    );
    const organization = scimClient(
      provisioning.url,
      (await createScimToken(provisioning, { organizationId: 'org-g' })).token,
    );
    const member = await provision(organization, 'gina-1');
    await setGroupTier('Org Engineering', 'enterprise');
    await organization('POST', '/Groups', { displayName: 'Org Engineering', members: [{ value: member }] });
    expect(await tierOf('gina-1')).toMatchObject({ tier: 'basic', sso: false });
  });

  it('a mapping change reaches every member of a group over a thousand strong (licenses and states read in batches)', async () => {
    const now = new Date();
    const members = Array.from({ length: 1100 }, (_, i) => ({
      id: randomUUID(),
      directory: '',
      userName: `crowd-${i}@example.com`,
      userNameKey: `crowd-${i}@example.com`,
      externalId: `crowd-${i}`,
      displayName: null,
      displayNameKey: null,
      subject: `crowd-${i}`,
      active: true,
      attributes: '{}',
      createdAt: now,
      updatedAt: now,
    }));
    // Provisioned in bulk here only for speed: the group and the mapping go through the API.
    for (let start = 0; start < members.length; start += 200) {
      await provisioning.dataSource.manager.insert(ScimUserRow, members.slice(start, start + 200));
    }
    const scim = scimClient(provisioning.url, (await createScimToken(provisioning)).token);
    const created = await scim('POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'Everyone',
      members: members.map((member) => ({ value: member.id })),
    });
    expect(created.status).toBe(201);
    const count = async () =>
      Number(
        (
          await provisioning.dataSource.query(
            "SELECT COUNT(*) AS n FROM license_events WHERE type = 'TIER_CHANGED' AND reason LIKE '%\"Everyone\"%'",
          )
        )[0].n,
      );

    await setGroupTier('Everyone', 'pro');
    expect(await count()).toBe(1100);
    for (const i of [0, 499, 500, 999, 1000, 1099])
      expect(await tierOf(`crowd-${i}`)).toMatchObject({ tier: 'pro' });
    await setGroupTier('Everyone', null);
    expect(await count()).toBe(2200);
    for (const i of [0, 1099]) expect(await tierOf(`crowd-${i}`)).toMatchObject({ tier: 'basic' });
  });
});
