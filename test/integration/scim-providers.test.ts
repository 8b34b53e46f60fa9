import type { ScimCall } from '../testkit/scim';
import {
  createScimToken,
  licenseStatus,
  scimClient,
  startProvisioningStage,
  stopProvisioningStage,
} from '../testkit/scim';
import type { TestServer } from '../testkit/server';
import { dataOf } from '../testkit/server';
import type { TestSocket, TestSubscription } from '../testkit/subscriptions';
import { untilSubscribed } from '../testkit/subscriptions';

/**
 * The conversations Okta and Microsoft Entra ID hold with a SCIM service provider, request for request as their
 * documentation shows them (bodies, capital letters, the filters they send). Provisioning goes to one server;
 * on MariaDB every license read and every subscription is on a second server on the same database, a replica
 * that learns of each change only from the database (on SQLite, one process, both are the same server).
 */
describe('SCIM conversations of real identity providers', () => {
  let provisioning: TestServer;
  let replica: TestServer;
  let socket: TestSocket;

  beforeAll(async () => {
    ({ provisioning, replica, socket } = await startProvisioningStage());
  });
  afterAll(() => stopProvisioningStage({ provisioning, replica, socket }));

  /** Subscriptions on the replica for `userId`, open before anything is provisioned. */
  async function watch(userId: string): Promise<{ revoked: TestSubscription; events: TestSubscription }> {
    const before = replica.live.feed.listenerCount;
    const revoked = socket.subscribe(
      'subscription($u: ID) { entitlementRevoked(userId: $u) { type actor user { id } } }',
      { u: userId },
    );
    const events = socket.subscribe('subscription($u: ID) { licenseEvents(userId: $u) { type actor } }', {
      u: userId,
    });
    await untilSubscribed(() => replica.live.feed.listenerCount, before + 2, [revoked, events]);
    return { revoked, events };
  }

  /** Discovery, as both providers read it before provisioning (Entra's "Test Connection" does). */
  async function discover(scim: ScimCall): Promise<void> {
    const config = await scim('GET', '/ServiceProviderConfig');
    expect(config).toMatchObject({ status: 200, contentType: 'application/scim+json; charset=utf-8' });
    expect(config.body).toMatchObject({
      patch: { supported: true },
      filter: { supported: true, maxResults: 200 },
    });
    const types = await scim('GET', '/ResourceTypes');
    expect(types.body.Resources.map((type: any) => type.endpoint)).toEqual(['/Users', '/Groups']);
    const schemas = await scim('GET', '/Schemas');
    expect(schemas.body.Resources.map((schema: any) => schema.id)).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:User',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      'urn:ietf:params:scim:schemas:core:2.0:Group',
    ]);
  }

  it('Okta: create, find by userName, update, deactivate, reactivate and delete; the license follows on the replica', async () => {
    const { id: tokenId, token } = await createScimToken(provisioning);
    const okta = scimClient(provisioning.url, token);
    const oktaUserId = '00ujl29u0le5T6Aj10h7';
    const { revoked, events } = await watch(oktaUserId);
    await discover(okta);

    // Okta asks whether the user exists before it creates one.
    const byUserName = `/Users?filter=${encodeURIComponent('userName eq "test.user@okta.local"')}&startIndex=1&count=100`;
    expect((await okta('GET', byUserName)).body).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });

    const created = await okta('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'test.user@okta.local',
      name: { givenName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
      displayName: 'Test User',
      locale: 'en-US',
      externalId: oktaUserId,
      groups: [],
      password: '1mz050nq',
      active: true,
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.location).toBe(`${provisioning.url.replace('/graphql', '/scim/v2')}/Users/${id}`);
    expect(created.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      id,
      externalId: oktaUserId,
      userName: 'test.user@okta.local',
      active: true,
      name: { givenName: 'Test', familyName: 'User' },
      groups: [],
      meta: { resourceType: 'User', location: created.location },
    });
    expect(created.body).not.toHaveProperty('password');
    expect(await licenseStatus(replica, oktaUserId)).toBe('ACTIVE');

    const found = await okta('GET', byUserName);
    expect(found.body).toMatchObject({ totalResults: 1, itemsPerPage: 1, Resources: [{ id }] });
    expect((await okta('GET', `/Users/${id}`)).body).toMatchObject({ id, active: true });

    // A profile change: Okta PUTs the whole user, id, password and an unchanged `active` included.
    const replaced = await okta('PUT', `/Users/${id}`, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      id,
      userName: 'test.user@okta.local',
      name: { givenName: 'Another', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
      displayName: 'Another User',
      locale: 'en-US',
      externalId: oktaUserId,
      groups: [],
      password: '1mz050nq',
      active: true,
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ displayName: 'Another User', name: { givenName: 'Another' } });

    // Deactivation: a PATCH without a path.
    const deactivate = {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', value: { active: false } }],
    };
    expect((await okta('PATCH', `/Users/${id}`, deactivate)).body).toMatchObject({ id, active: false });
    expect(await licenseStatus(replica, oktaUserId)).toBe('REVOKED');
    const [pushed] = await revoked.waitForData(1);
    expect(pushed.data.entitlementRevoked).toEqual({
      type: 'LICENSE_REVOKED',
      actor: `scim:${tokenId}`,
      user: { id: oktaUserId },
    });
    expect((await okta('GET', `/Users/${id}`)).body).toMatchObject({ id, active: false });

    const reactivate = {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', value: { active: true } }],
    };
    expect((await okta('PATCH', `/Users/${id}`, reactivate)).body).toMatchObject({ active: true });
    expect(await licenseStatus(replica, oktaUserId)).toBe('ACTIVE');

    expect((await okta('DELETE', `/Users/${id}`)).status).toBe(204);
    expect(await licenseStatus(replica, oktaUserId)).toBe('REVOKED');
    expect((await okta('GET', `/Users/${id}`)).status).toBe(404);
    const pushedEvents = await events.waitForData(3);
    expect(pushedEvents.map((event) => event.data.licenseEvents)).toEqual([
      { type: 'LICENSE_REVOKED', actor: `scim:${tokenId}` },
      { type: 'LICENSE_RESTORED', actor: `scim:${tokenId}` },
      { type: 'LICENSE_REVOKED', actor: `scim:${tokenId}` },
    ]);
    await revoked.waitForData(2);
  });

  it('Okta: group push stores the group and its members, adds and removes them', async () => {
    const { token } = await createScimToken(provisioning);
    const okta = scimClient(provisioning.url, token);
    const user = await okta('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'group.member@okta.local',
      externalId: '00u1dhhb1fkIGP7RL1d8',
      active: true,
    });
    const userId = user.body.id as string;
    const filter = `/Groups?filter=${encodeURIComponent('displayName eq "Test SCIMv2"')}&startIndex=1&count=100`;
    expect((await okta('GET', filter)).body.totalResults).toBe(0);

    const created = await okta('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Test SCIMv2',
      members: [],
    });
    expect(created.status).toBe(201);
    const groupId = created.body.id as string;
    expect((await okta('GET', filter)).body).toMatchObject({ totalResults: 1, Resources: [{ id: groupId }] });

    // Rename (Okta repeats the id in the value), then members added and removed.
    const renamed = await okta('PATCH', `/Groups/${groupId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', value: { id: groupId, displayName: 'Test SCIMv2 renamed' } }],
    });
    expect(renamed.body).toMatchObject({ displayName: 'Test SCIMv2 renamed', members: [] });
    const added = await okta('PATCH', `/Groups/${groupId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        { op: 'add', path: 'members', value: [{ value: userId, display: 'group.member@okta.local' }] },
      ],
    });
    expect(added.body.members).toEqual([
      {
        value: userId,
        $ref: expect.stringContaining(`/scim/v2/Users/${userId}`),
        display: 'group.member@okta.local',
        type: 'User',
      },
    ]);
    expect((await okta('GET', `/Users/${userId}`)).body.groups).toEqual([
      expect.objectContaining({ value: groupId, display: 'Test SCIMv2 renamed' }),
    ]);
    const removed = await okta('PATCH', `/Groups/${groupId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'remove', path: `members[value eq "${userId}"]` }],
    });
    expect(removed.body.members).toEqual([]);

    // PUT with the full member list.
    const put = await okta('PUT', `/Groups/${groupId}`, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      id: groupId,
      displayName: 'Test SCIMv2',
      members: [{ value: userId, display: 'group.member@okta.local' }],
    });
    expect(put.body).toMatchObject({ displayName: 'Test SCIMv2', members: [{ value: userId }] });
    expect((await okta('DELETE', `/Groups/${groupId}`)).status).toBe(204);
    expect((await okta('GET', `/Groups/${groupId}`)).status).toBe(404);
    expect((await okta('GET', `/Users/${userId}`)).body.groups).toEqual([]);
  });

  it('Entra ID: test connection, create, match by externalId, PATCH with capital ops and "False", delete', async () => {
    const { id: tokenId, token } = await createScimToken(provisioning);
    const entra = scimClient(provisioning.url, token);
    const externalId = '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef';
    const { revoked, events } = await watch(externalId);
    await discover(entra);

    // "Test Connection" looks for a user that does not exist (Entra writes the space as '+').
    const none = await entra('GET', '/Users?filter=userName+eq+%22non-existent%20user%22');
    expect(none.body).toMatchObject({ totalResults: 0, Resources: [] });

    const created = await entra('POST', '/Users', {
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:User',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      ],
      externalId,
      userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
      active: true,
      emails: [
        { primary: true, type: 'work', value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com' },
      ],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {
        employeeNumber: '701984',
        department: 'Tour Operations',
        manager: { value: '123' },
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:User',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      ],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Tour Operations' },
    });

    // Entra matches by userName, or by externalId; either case of the userName finds it.
    for (const filter of [
      'userName eq "test_user_AB6490EE-1e48-479e-a20b-2d77186b5dd1"',
      `externalId eq "${externalId}"`,
      `externalId eq "${externalId}" and userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"`,
    ]) {
      const found = await entra('GET', `/Users?filter=${encodeURIComponent(filter)}`);
      expect({ filter, total: found.body.totalResults, id: found.body.Resources[0]?.id }).toEqual({
        filter,
        total: 1,
        id,
      });
    }

    const updated = await entra('PATCH', `/Users/${id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        {
          op: 'Add',
          path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department',
          value: [{ value: 'Finance' }],
        },
      ],
    });
    expect(updated.body).toMatchObject({
      emails: [{ type: 'work', value: 'updatedEmail@microsoft.com', primary: true }],
      name: { familyName: 'updatedFamilyName' },
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Finance' },
    });

    // Disable: Entra has long sent the boolean as the string "False".
    const disabled = await entra('PATCH', `/Users/${id}`, {
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    });
    expect(disabled.body.active).toBe(false);
    expect(await licenseStatus(replica, externalId)).toBe('REVOKED');
    const [pushed] = await revoked.waitForData(1);
    expect(pushed.data.entitlementRevoked).toEqual({
      type: 'LICENSE_REVOKED',
      actor: `scim:${tokenId}`,
      user: { id: externalId },
    });
    expect((await entra('GET', `/Users/${id}`)).body.active).toBe(false);

    const enabled = await entra('PATCH', `/Users/${id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Replace', path: 'active', value: 'True' }],
    });
    expect(enabled.body.active).toBe(true);
    expect(await licenseStatus(replica, externalId)).toBe('ACTIVE');

    expect((await entra('DELETE', `/Users/${id}`)).status).toBe(204);
    expect(await licenseStatus(replica, externalId)).toBe('REVOKED');
    expect((await entra('GET', `/Users/${id}`)).status).toBe(404);
    const pushedEvents = await events.waitForData(3);
    expect(pushedEvents.map((event) => event.data.licenseEvents.type)).toEqual([
      'LICENSE_REVOKED',
      'LICENSE_RESTORED',
      'LICENSE_REVOKED',
    ]);

    const stored = dataOf(
      await replica.gql<any>('query($u: ID) { licenseEvents(userId: $u) { events { type actor reason } } }', {
        u: externalId,
      }),
    );
    expect(stored.licenseEvents.events).toEqual([
      {
        type: 'LICENSE_REVOKED',
        actor: `scim:${tokenId}`,
        reason: 'deactivated by the identity provider (SCIM)',
      },
      {
        type: 'LICENSE_RESTORED',
        actor: `scim:${tokenId}`,
        reason: 'active again at the identity provider (SCIM)',
      },
      {
        type: 'LICENSE_REVOKED',
        actor: `scim:${tokenId}`,
        reason: 'deleted by the identity provider (SCIM)',
      },
    ]);
  });

  it('Entra ID: groups without members in reads, members added and removed by value', async () => {
    const { token } = await createScimToken(provisioning);
    const entra = scimClient(provisioning.url, token);
    const user = await entra('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      externalId: 'entra-member-1',
      userName: 'member1@contoso.com',
      active: true,
    });
    const userId = user.body.id as string;
    const created = await entra('POST', '/Groups', {
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:Group',
        'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group',
      ],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: { resourceType: 'Group' },
    });
    expect(created.status).toBe(201);
    const groupId = created.body.id as string;

    const read = await entra('GET', `/Groups/${groupId}?excludedAttributes=members`);
    expect(read.body).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      id: groupId,
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: expect.objectContaining({ resourceType: 'Group' }),
    });
    const byName = await entra(
      'GET',
      `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "displayName"')}`,
    );
    expect(byName.body).toMatchObject({ totalResults: 1, Resources: [{ id: groupId }] });
    expect(byName.body.Resources[0]).not.toHaveProperty('members');
    // Members an answer leaves out are not read (Entra's groups have thousands); those it shows are.
    const readsOfMembers = async (...paths: string[]) => {
      provisioning.queries.recorded = [];
      for (const path of paths) expect((await entra('GET', path)).status).toBe(200);
      const recorded = provisioning.queries.recorded;
      provisioning.queries.recorded = null;
      return recorded.filter(({ query }) => /FROM\s+["`]scim_group_members["`]/.test(query)).length;
    };
    expect(
      await readsOfMembers(
        `/Groups/${groupId}?excludedAttributes=members`,
        '/Groups?excludedAttributes=members',
        '/Groups?attributes=displayName',
      ),
    ).toBe(0);
    expect(await readsOfMembers(`/Groups/${groupId}`, '/Groups')).toBe(2);

    const patch = (op: string) => ({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op, path: 'members', value: [{ $ref: null, value: userId }] }],
    });
    expect((await entra('PATCH', `/Groups/${groupId}`, patch('Add'))).body.members).toHaveLength(1);
    expect((await entra('PATCH', `/Groups/${groupId}`, patch('Remove'))).body.members).toEqual([]);
    const renamed = await entra('PATCH', `/Groups/${groupId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Replace', path: 'displayName', value: 'updatedDisplayName' }],
    });
    expect(renamed.body.displayName).toBe('updatedDisplayName');
    expect((await entra('DELETE', `/Groups/${groupId}`)).status).toBe(204);
  });
});
