import {
  createScimToken,
  expectScimError,
  licenseStatus,
  scimClient,
  startProvisioningStage,
  stopProvisioningStage,
} from '../testkit/scim';
import type { TestServer } from '../testkit/server';
import { dataOf } from '../testkit/server';
import type { TestSocket } from '../testkit/subscriptions';
import { untilSubscribed } from '../testkit/subscriptions';

/**
 * An organization's SCIM token governs that organization's seats (rule S3): an active User holds one, an inactive
 * or deleted one does not, a full organization answers 409 SEAT_LIMIT_REACHED and changes nothing. Provisioning
 * goes to one server; on MariaDB reads and subscriptions are on a second one, a replica on the same database.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const newUser = (userName: string, externalId: string, active: boolean | string = true) => ({
  schemas: [USER],
  userName,
  externalId,
  active,
});
const setActive = (active: boolean | string) => ({
  schemas: [PATCH_OP],
  Operations: [{ op: 'replace', value: { active } }],
});

let provisioning: TestServer;
let replica: TestServer;
let socket: TestSocket;

beforeAll(async () => {
  ({ provisioning, replica, socket } = await startProvisioningStage());
});
afterAll(() => stopProvisioningStage({ provisioning, replica, socket }));

async function setLicense(organizationId: string, seatLimit: number | null): Promise<void> {
  dataOf(
    await provisioning.gql(
      `mutation($o: ID!, $l: Int) {
        setOrganizationLicense(input: { organizationId: $o, tier: "pro", seatLimit: $l }) { id }
      }`,
      { o: organizationId, l: seatLimit },
    ),
  );
}

/** The organization's seats as the replica reads them: holders and who assigned each. */
async function seats(organizationId: string): Promise<{ used: number; holders: Record<string, string> }> {
  const { _entities } = dataOf(
    await replica.gql(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Organization {
        license { seatsUsed } seats { seats { user { id } assignedBy } }
      } } }`,
      { r: [{ __typename: 'Organization', id: organizationId }] },
    ),
  );
  const [organization] = _entities as any[];
  return {
    used: organization.license.seatsUsed,
    holders: Object.fromEntries(organization.seats.seats.map((seat: any) => [seat.user.id, seat.assignedBy])),
  };
}

/** What the seat gives, as the replica reads the user: the seat tier's feature, with the own license's status. */
async function userView(userId: string): Promise<{ status: string; exportPdf: boolean }> {
  const { _entities } = dataOf(
    await replica.gql(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User {
        license { status } hasEntitlement(feature: "export.pdf")
      } } }`,
      { r: [{ __typename: 'User', id: userId }] },
    ),
  );
  const [user] = _entities as any[];
  return { status: user.license.status, exportPdf: user.hasEntitlement };
}

async function everything(): Promise<unknown[]> {
  const tables = ['scim_users', 'seats', 'organization_licenses', 'licenses', 'license_events'];
  return Promise.all(
    tables.map((table) => provisioning.dataSource.query(`SELECT * FROM ${table} ORDER BY 1`)),
  );
}

describe("an organization's SCIM token governs its seats", () => {
  it('create holds a seat, deactivate frees it (pushed), a full organization answers 409 and changes nothing, reactivate holds it again', async () => {
    await setLicense('acme', 2);
    const { id: tokenId, token } = await createScimToken(provisioning, { organizationId: 'acme' });
    const actor = `scim:${tokenId}`;
    const scim = scimClient(provisioning.url, token);

    const before = replica.live.feed.listenerCount;
    const revoked = socket.subscribe(
      'subscription { entitlementRevoked(userId: "alice-1") { type actor user { id } organization { id } } }',
    );
    const events = socket.subscribe(
      'subscription { licenseEvents(userId: "alice-1") { type actor reason organization { id } } }',
    );
    await untilSubscribed(() => replica.live.feed.listenerCount, before + 2, [revoked, events]);

    // Created active: a seat, assigned by the token.
    const alice = await scim('POST', '/Users', newUser('alice@acme.example', 'alice-1'));
    expect(alice.status).toBe(201);
    expect(await seats('acme')).toEqual({ used: 1, holders: { 'alice-1': actor } });
    expect(await userView('alice-1')).toEqual({ status: 'ACTIVE', exportPdf: true });

    // Created inactive: no seat.
    const idle = await scim('POST', '/Users', newUser('idle@acme.example', 'idle-1', false));
    expect(idle.body.active).toBe(false);
    expect((await seats('acme')).used).toBe(1);

    const bob = await scim('POST', '/Users', newUser('bob@acme.example', 'bob-1'));
    expect(bob.status).toBe(201);
    expect((await seats('acme')).used).toBe(2);

    // Full: the User is not created, nothing changes.
    const full = await everything();
    const refused = await scim('POST', '/Users', newUser('carol@acme.example', 'carol-1'));
    expectScimError(refused, 409);
    expect(refused.body.detail).toBe('SEAT_LIMIT_REACHED');
    expect(await everything()).toEqual(full);
    const carolFilter = `/Users?filter=${encodeURIComponent('userName eq "carol@acme.example"')}`;
    expect((await scim('GET', carolFilter)).body.totalResults).toBe(0);
    // Nor does reactivating a User who has none.
    expectScimError(await scim('PATCH', `/Users/${idle.body.id}`, setActive(true)), 409);
    expect(await everything()).toEqual(full);
    expect((await scim('GET', `/Users/${idle.body.id}`)).body.active).toBe(false);

    // Deactivated (Entra's "False"): the seat is freed at once and pushed; the personal license is untouched.
    const deactivated = await scim('PATCH', `/Users/${alice.body.id}`, setActive('False'));
    expect(deactivated.body.active).toBe(false);
    expect(await seats('acme')).toEqual({ used: 1, holders: { 'bob-1': actor } });
    expect(await userView('alice-1')).toEqual({ status: 'ACTIVE', exportPdf: false });
    const [pushed] = await revoked.waitForData(1);
    expect(pushed.data.entitlementRevoked).toEqual({
      type: 'SEAT_UNASSIGNED',
      actor,
      user: { id: 'alice-1' },
      organization: { id: 'acme' },
    });
    expect((await scim('GET', `/Users/${alice.body.id}`)).body.active).toBe(false);

    // The freed seat goes to carol; alice's reactivation is then refused, and alice stays inactive.
    expect((await scim('POST', '/Users', newUser('carol@acme.example', 'carol-1'))).status).toBe(201);
    const fullAgain = await everything();
    const reactivation = await scim('PATCH', `/Users/${alice.body.id}`, setActive(true));
    expectScimError(reactivation, 409);
    expect(reactivation.body.detail).toBe('SEAT_LIMIT_REACHED');
    expect(await everything()).toEqual(fullAgain);

    // Deleting carol frees her seat (a deleted User answers 404); her personal license is untouched.
    const carolId = (await scim('GET', carolFilter)).body.Resources[0].id;
    expect((await scim('DELETE', `/Users/${carolId}`)).status).toBe(204);
    expect((await scim('GET', `/Users/${carolId}`)).status).toBe(404);
    expect(await licenseStatus(replica, 'carol-1')).toBe('ACTIVE');
    expect(Object.keys((await seats('acme')).holders)).toEqual(['bob-1']);

    // Reactivated: a seat again, and the entitlements it gives.
    expect((await scim('PATCH', `/Users/${alice.body.id}`, setActive(true))).body.active).toBe(true);
    expect(await seats('acme')).toEqual({ used: 2, holders: { 'bob-1': actor, 'alice-1': actor } });
    expect(await userView('alice-1')).toEqual({ status: 'ACTIVE', exportPdf: true });
    // A PUT that leaves it active keeps the seat, with no event.
    const put = await scim('PUT', `/Users/${alice.body.id}`, {
      ...newUser('alice@acme.example', 'alice-1'),
      displayName: 'Alice',
    });
    expect(put.status).toBe(200);

    const history = (await events.waitForData(3)).map((event) => event.data.licenseEvents);
    expect(history).toEqual([
      {
        type: 'SEAT_ASSIGNED',
        actor,
        reason: 'provisioned by the identity provider (SCIM)',
        organization: { id: 'acme' },
      },
      {
        type: 'SEAT_UNASSIGNED',
        actor,
        reason: 'deactivated by the identity provider (SCIM)',
        organization: { id: 'acme' },
      },
      {
        type: 'SEAT_ASSIGNED',
        actor,
        reason: 'active again at the identity provider (SCIM)',
        organization: { id: 'acme' },
      },
    ]);
    const stored = dataOf(await replica.gql('{ licenseEvents(userId: "alice-1") { events { type actor } } }'))
      .licenseEvents.events;
    expect(stored.map((event: any) => event.type)).toEqual([
      'SEAT_ASSIGNED',
      'SEAT_UNASSIGNED',
      'SEAT_ASSIGNED',
    ]);
  });

  it('with L seats free, of concurrent creates exactly L are provisioned and the rest answer 409', async () => {
    await setLicense('race', 3);
    const scim = scimClient(
      provisioning.url,
      (await createScimToken(provisioning, { organizationId: 'race' })).token,
    );
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => scim('POST', '/Users', newUser(`racer-${i}@x`, `racer-${i}`))),
    );
    expect(replies.map((reply) => reply.status).sort()).toEqual([201, 201, 201, ...Array(7).fill(409)]);
    for (const reply of replies.filter((r) => r.status === 409))
      expect(reply.body.detail).toBe('SEAT_LIMIT_REACHED');
    expect((await scim('GET', '/Users')).body.totalResults).toBe(3);
    expect((await seats('race')).used).toBe(3);
  });

  it('a seat unassigned by hand comes back with the next write that leaves the User active: the directory is the record', async () => {
    await setLicense('records', null);
    const { token } = await createScimToken(provisioning, { organizationId: 'records' });
    const scim = scimClient(provisioning.url, token);
    const dave = await scim('POST', '/Users', newUser('dave@records.example', 'dave-1'));
    dataOf(
      await provisioning.gql(
        'mutation { unassignSeat(organizationId: "records", userId: "dave-1") { assignedAt } }',
      ),
    );
    expect((await seats('records')).used).toBe(0);
    await scim('PATCH', `/Users/${dave.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'displayName', value: 'Dave' }],
    });
    expect(Object.keys((await seats('records')).holders)).toEqual(['dave-1']);
  });

  it('an organization without a license answers 409 and provisions nothing', async () => {
    const scim = scimClient(
      provisioning.url,
      (await createScimToken(provisioning, { organizationId: 'unlicensed' })).token,
    );
    const before = await everything();
    const reply = await scim('POST', '/Users', newUser('erin@unlicensed.example', 'erin-1'));
    expectScimError(reply, 409);
    expect(reply.body.detail).toContain('setOrganizationLicense');
    expect(await everything()).toEqual(before);
    // An inactive User needs no seat, so it is provisioned.
    expect((await scim('POST', '/Users', newUser('erin@unlicensed.example', 'erin-1', false))).status).toBe(
      201,
    );
  });

  it("the organization's directory and the identity directory are apart", async () => {
    await setLicense('apart', null);
    const organization = scimClient(
      provisioning.url,
      (await createScimToken(provisioning, { organizationId: 'apart' })).token,
    );
    const identities = scimClient(provisioning.url, (await createScimToken(provisioning)).token);
    const user = await organization('POST', '/Users', newUser('frank@apart.example', 'frank-1'));
    expect((await identities('GET', `/Users/${user.body.id}`)).status).toBe(404);
    // The same identity in the identity directory is another User.
    expect((await identities('POST', '/Users', newUser('frank@apart.example', 'frank-1'))).status).toBe(201);
    const group = await organization('POST', '/Groups', {
      displayName: 'Apart',
      members: [{ value: user.body.id }],
    });
    expect(group.status).toBe(201);
    expect((await identities('GET', `/Groups/${group.body.id}`)).status).toBe(404);
  });
});
