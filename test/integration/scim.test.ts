import { spawnServer, waitUntilReady } from '../testkit/process';
import type { ScimCall } from '../testkit/scim';
import { createScimToken, expectScimError, licenseStatus, scimClient } from '../testkit/scim';
import type { TestServer } from '../testkit/server';
import { dataOf, mintToken, postGraphQL, startTestServer } from '../testkit/server';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ seedCatalog: true });
});

afterAll(async () => {
  await server?.stop();
});

const newUser = (userName: string, externalId: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER],
  userName,
  externalId,
  active: true,
  ...extra,
});

/** Every row SCIM and the audit trail hold, to show that a refused request changed nothing. */
async function everything(): Promise<unknown[]> {
  const tables = ['scim_users', 'scim_groups', 'scim_group_members', 'licenses', 'license_events'];
  return Promise.all(tables.map((table) => server.dataSource.query(`SELECT * FROM ${table} ORDER BY 1`)));
}

describe('SCIM tokens', () => {
  it('are made and revoked with entitlements:write, shown once, and listed without their secret', async () => {
    const reader = await mintToken('reader', ['entitlements:read']);
    const refused = await server.gqlAs(reader, 'mutation { createScimToken { id token } }');
    expect(refused.errors?.[0].extensions.code).toBe('FORBIDDEN');

    const created = await createScimToken(server, { organizationId: 'org-7', userIdAttribute: 'USER_NAME' });
    expect(created.token).toMatch(new RegExp(`^scim_${created.id}_[A-Za-z0-9_-]{43}$`));
    const listed = dataOf(
      await server.gqlAs(reader, '{ scimTokens { id organizationId userIdAttribute createdBy revokedAt } }'),
    ).scimTokens;
    expect(listed).toContainEqual({
      id: created.id,
      organizationId: 'org-7',
      userIdAttribute: 'USER_NAME',
      createdBy: 'admin',
      revokedAt: null,
    });
    const [stored] = await server.dataSource.query('SELECT * FROM scim_tokens WHERE id = ?', [created.id]);
    expect(JSON.stringify(stored)).not.toContain(created.token.slice(-43));

    const unknown = await server.gql('mutation { revokeScimToken(id: "nope") }');
    expect(unknown.errors?.[0].extensions.code).toBe('NOT_FOUND');
    const badOrganization = await server.gql('mutation { createScimToken(organizationId: "") { id } }');
    expect(badOrganization.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'organizationId',
    });
  });

  it('gate every path, discovery included: none, a wrong, a JWT or a revoked token gets 401', async () => {
    const { id, token } = await createScimToken(server);
    const wrongSecret = `${token.slice(0, -4)}AAAA`;
    const jwt = await mintToken('admin', ['entitlements:read', 'entitlements:write']);
    expect((await scimClient(server.url, token)('GET', '/ServiceProviderConfig')).status).toBe(200);
    const before = await everything();

    for (const bearer of [null, wrongSecret, jwt, 'scim_not-a-token']) {
      const scim = scimClient(server.url, bearer);
      for (const [method, path] of [
        ['GET', '/ServiceProviderConfig'],
        ['GET', '/Schemas'],
        ['GET', '/ResourceTypes'],
        ['GET', '/Users'],
        ['DELETE', '/Users/x'],
        ['GET', '/Nothing'],
      ]) {
        expectScimError(await scim(method, path), 401);
      }
      expectScimError(await scim('POST', '/Users', newUser('intruder', 'intruder')), 401);
    }
    const unauthenticated = await fetch(server.url.replace('/graphql', '/scim/v2/Users'));
    expect(unauthenticated.headers.get('www-authenticate')).toBe('Bearer realm="SCIM"');

    expect(
      dataOf(await server.gql('mutation($id: ID!) { revokeScimToken(id: $id) }', { id })).revokeScimToken,
    ).toBe(true);
    expectScimError(await scimClient(server.url, token)('GET', '/ServiceProviderConfig'), 401);
    expectScimError(await scimClient(server.url, token)('POST', '/Users', newUser('late', 'late')), 401);
    expect(await everything()).toEqual(before);
  });
});

describe('SCIM requests that are refused change nothing', () => {
  let scim: ScimCall;
  let id: string;

  beforeAll(async () => {
    scim = scimClient(server.url, (await createScimToken(server)).token);
    id = (await scim('POST', '/Users', newUser('kept@example.com', 'kept-1'))).body.id;
  });

  const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

  it.each([
    ['malformed JSON', 'POST', '/Users', 400, 'invalidSyntax', '{"userName": '],
    ['an array body', 'POST', '/Users', 400, 'invalidSyntax', [newUser('a', 'a')]],
    ['no userName', 'POST', '/Users', 400, 'invalidValue', { schemas: [USER], externalId: 'x' }],
    ['userName not a string', 'POST', '/Users', 400, 'invalidValue', newUser(42 as never, 'x')],
    [
      'no externalId (the User id)',
      'POST',
      '/Users',
      400,
      'invalidValue',
      { schemas: [USER], userName: 'no-id' },
    ],
    [
      'an externalId too long for a User id',
      'POST',
      '/Users',
      400,
      'invalidValue',
      newUser('long', 'x'.repeat(129)),
    ],
    [
      'active that is no boolean',
      'POST',
      '/Users',
      400,
      'invalidValue',
      newUser('b', 'b', { active: 'maybe' }),
    ],
    [
      'a prototype key in the body',
      'POST',
      '/Users',
      400,
      'invalidSyntax',
      '{"userName":"p","externalId":"p","__proto__":{"x":1}}',
    ],
    ['PATCH without Operations', 'PATCH', '/Users/:id', 400, 'invalidSyntax', { schemas: [PATCH_OP] }],
    [
      'PATCH with an unknown op',
      'PATCH',
      '/Users/:id',
      400,
      'invalidSyntax',
      patch({ op: 'move', path: 'active', value: false }),
    ],
    ['PATCH remove without a path', 'PATCH', '/Users/:id', 400, 'noTarget', patch({ op: 'remove' })],
    [
      'a PATCH path through an inherited function',
      'PATCH',
      '/Users/:id',
      400,
      'invalidPath',
      patch({ op: 'add', path: 'hasOwnProperty.call', value: 'polluted' }),
    ],
    [
      'a pathless PATCH value through an inherited function',
      'PATCH',
      '/Users/:id',
      400,
      'invalidPath',
      patch({ op: 'add', value: { 'toString.call': 'polluted' } }),
    ],
    [
      'a PATCH that adds 1,001 emails',
      'PATCH',
      '/Users/:id',
      400,
      'tooMany',
      patch({
        op: 'add',
        path: 'emails',
        value: Array.from({ length: 1001 }, (_, i) => ({ value: `${i}@x` })),
      }),
    ],
    [
      'PATCH replace without a value',
      'PATCH',
      '/Users/:id',
      400,
      'invalidValue',
      patch({ op: 'replace', path: 'active' }),
    ],
    [
      'PATCH through the prototype',
      'PATCH',
      '/Users/:id',
      400,
      'invalidPath',
      patch({ op: 'add', path: 'constructor.prototype.polluted', value: 1 }),
    ],
    [
      'PATCH that makes active a string',
      'PATCH',
      '/Users/:id',
      400,
      'invalidValue',
      patch({ op: 'replace', path: 'active', value: 'no' }),
    ],
    [
      'PATCH removing userName',
      'PATCH',
      '/Users/:id',
      400,
      'invalidValue',
      patch({ op: 'remove', path: 'userName' }, { op: 'replace', path: 'active', value: false }),
    ],
    [
      'PATCH changing the User id',
      'PATCH',
      '/Users/:id',
      400,
      'mutability',
      patch(
        { op: 'replace', path: 'externalId', value: 'other' },
        { op: 'replace', path: 'active', value: false },
      ),
    ],
    [
      'PUT with another id',
      'PUT',
      '/Users/:id',
      400,
      'mutability',
      { ...newUser('kept@example.com', 'kept-1', { active: false }), id: 'other' },
    ],
    [
      'a filter on an attribute not supported',
      'GET',
      `/Users?filter=${encodeURIComponent('emails.value eq "x"')}`,
      400,
      'invalidFilter',
      undefined,
    ],
    [
      'a filter with another operator',
      'GET',
      `/Users?filter=${encodeURIComponent('userName co "kept"')}`,
      400,
      'invalidFilter',
      undefined,
    ],
    [
      'a filter that does not parse',
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq')}`,
      400,
      'invalidFilter',
      undefined,
    ],
    [
      'a filter with an unclosed quote before line breaks (the parser would backtrack for hours)',
      'GET',
      `/Users?filter=${encodeURIComponent(`userName eq "${'\n'.repeat(60)}`)}`,
      400,
      'invalidFilter',
      undefined,
    ],
    [
      'a filter comparing with a number',
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq 5')}`,
      400,
      'invalidFilter',
      undefined,
    ],
    ['a count that is no number', 'GET', '/Users?count=ten', 400, 'invalidValue', undefined],
    [
      'an unknown user',
      'PATCH',
      '/Users/00000000-0000-0000-0000-000000000000',
      404,
      undefined,
      patch({ op: 'replace', path: 'active', value: false }),
    ],
    [
      'an unknown user deleted',
      'DELETE',
      '/Users/00000000-0000-0000-0000-000000000000',
      404,
      undefined,
      undefined,
    ],
    ['an unknown group', 'GET', '/Groups/nope', 404, undefined, undefined],
    ['a group without displayName', 'POST', '/Groups', 400, 'invalidValue', { members: [] }],
    [
      'a group with an unknown member',
      'POST',
      '/Groups',
      400,
      'invalidValue',
      { displayName: 'g', members: [{ value: 'nobody' }] },
    ],
    ['an unknown endpoint', 'GET', '/Bulk', 404, undefined, undefined],
  ])('%s: %s %s answers %i %s', async (_what, method, path, status, scimType, body) => {
    const before = await everything();
    expectScimError(await scim(method, path.replace(':id', id), body), status, scimType);
    expect(await everything()).toEqual(before);
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(typeof Object.prototype.hasOwnProperty.call).toBe('function');
    expect(typeof Object.prototype.toString.call).toBe('function');
  });

  it('a body over 1 MiB answers 413', async () => {
    const before = await everything();
    const reply = await scim('POST', '/Users', newUser('big', 'big', { title: 'x'.repeat(1024 * 1024) }));
    expectScimError(reply, 413);
    expect(await everything()).toEqual(before);
  });

  it('accepts application/json as well, and answers application/scim+json', async () => {
    const reply = await scim('GET', `/Users/${id}`, undefined, { accept: 'application/json' });
    expect(reply).toMatchObject({ status: 200, contentType: 'application/scim+json; charset=utf-8' });
    const created = await scim('POST', '/Users', JSON.stringify(newUser('plain@example.com', 'plain-1')), {
      'content-type': 'application/json',
    });
    expect(created.status).toBe(201);
  });
});

describe('SCIM Users', () => {
  it('a POST retried ten times at once creates one User: one 201, nine 409 uniqueness', async () => {
    const scim = scimClient(server.url, (await createScimToken(server)).token);
    const body = newUser('retried@example.com', 'retried-1');
    const replies = await Promise.all(Array.from({ length: 10 }, () => scim('POST', '/Users', body)));
    expect(replies.map((reply) => reply.status).sort()).toEqual([201, ...Array(9).fill(409)]);
    for (const reply of replies.filter((r) => r.status === 409)) expectScimError(reply, 409, 'uniqueness');
    const found = await scim(
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "retried@example.com"')}`,
    );
    expect(found.body.totalResults).toBe(1);
    // userName is compared without regard to case; the User id (externalId) must be unique too.
    expectScimError(
      await scim('POST', '/Users', newUser('RETRIED@example.com', 'retried-2')),
      409,
      'uniqueness',
    );
    expectScimError(
      await scim('POST', '/Users', newUser('other@example.com', 'retried-1')),
      409,
      'uniqueness',
    );
  });

  it('with userIdAttribute USER_NAME, the license governed is the userName', async () => {
    const scim = scimClient(
      server.url,
      (await createScimToken(server, { userIdAttribute: 'USER_NAME' })).token,
    );
    const created = await scim('POST', '/Users', {
      schemas: [USER],
      userName: 'upn-user@contoso.com',
      active: false,
    });
    expect(created.status).toBe(201);
    expect(await licenseStatus(server, 'upn-user@contoso.com')).toBe('REVOKED');
  });

  it("restores only what SCIM revoked: an administrator's revocation outlives the provider's PUT", async () => {
    const scim = scimClient(server.url, (await createScimToken(server)).token);
    const id = (await scim('POST', '/Users', newUser('chargeback@example.com', 'chargeback-1'))).body.id;
    dataOf(
      await server.gql('mutation { revokeLicense(userId: "chargeback-1", reason: "chargeback") { id } }'),
    );
    const put = await scim(
      'PUT',
      `/Users/${id}`,
      newUser('chargeback@example.com', 'chargeback-1', { title: 'x' }),
    );
    expect(put.body.active).toBe(true);
    expect(await licenseStatus(server, 'chargeback-1')).toBe('REVOKED');

    // Deactivated and reactivated by the provider: still the administrator's revocation that stands.
    await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    await scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: true }],
    });
    expect(await licenseStatus(server, 'chargeback-1')).toBe('REVOKED');
  });

  it("an administrator's revocation of a license SCIM revoked is recorded, and SCIM's reactivation leaves it", async () => {
    const scim = scimClient(server.url, (await createScimToken(server)).token);
    const id = (await scim('POST', '/Users', newUser('refund@example.com', 'refund-1'))).body.id;
    const active = (value: boolean) =>
      scim('PATCH', `/Users/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'active', value }],
      });
    await active(false);
    dataOf(await server.gql('mutation { revokeLicense(userId: "refund-1", reason: "chargeback") { id } }'));
    // Revoked by SCIM already: the administrator's decision is on record all the same, with its reason.
    const { licenseEvents } = dataOf<{
      licenseEvents: { events: { type: string; actor: string; reason: string }[] };
    }>(await server.gql('{ licenseEvents(userId: "refund-1") { events { type actor reason } } }'));
    expect(licenseEvents.events.map(({ type, reason }) => [type, reason])).toEqual([
      ['LICENSE_REVOKED', 'deactivated by the identity provider (SCIM)'],
      ['LICENSE_REVOKED', 'chargeback'],
    ]);
    expect(licenseEvents.events[1].actor).not.toMatch(/^scim:/);

    await active(true);
    expect(await licenseStatus(server, 'refund-1')).toBe('REVOKED');
    // Another deactivation by SCIM changes nothing and records nothing.
    await active(false);
    const after = dataOf<{ licenseEvents: { events: unknown[] } }>(
      await server.gql('{ licenseEvents(userId: "refund-1") { events { type } } }'),
    );
    expect(after.licenseEvents.events).toHaveLength(2);
  });

  it('a User created inactive has its license revoked, and is restored when it becomes active', async () => {
    const scim = scimClient(server.url, (await createScimToken(server)).token);
    const created = await scim(
      'POST',
      '/Users',
      newUser('late.starter@example.com', 'late-1', { active: 'False' }),
    );
    expect(created.body.active).toBe(false);
    expect(await licenseStatus(server, 'late-1')).toBe('REVOKED');
    // A PUT that leaves `active` out keeps it.
    const put = await scim('PUT', `/Users/${created.body.id}`, {
      schemas: [USER],
      userName: 'late.starter@example.com',
      externalId: 'late-1',
    });
    expect(put.body.active).toBe(false);
    const put2 = await scim(
      'PUT',
      `/Users/${created.body.id}`,
      newUser('late.starter@example.com', 'late-1'),
    );
    expect(put2.body.active).toBe(true);
    expect(await licenseStatus(server, 'late-1')).toBe('ACTIVE');
  });

  it('pages with startIndex and count, oldest first, and projects attributes', async () => {
    const scim = scimClient(server.url, (await createScimToken(server)).token);
    const prefix = `page-${Date.now()}`;
    for (let i = 0; i < 5; i += 1)
      await scim('POST', '/Users', newUser(`${prefix}-${i}`, `${prefix}-${i}`, { displayName: `Page ${i}` }));
    const all = await scim('GET', '/Users?count=1000');
    const ours = all.body.Resources.filter((user: any) => user.userName.startsWith(prefix));
    expect(ours.map((user: any) => user.userName)).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}-${i}`));
    expect(all.body.itemsPerPage).toBe(Math.min(200, all.body.totalResults));

    const second = await scim('GET', `/Users?startIndex=2&count=2&attributes=userName`);
    expect(second.body).toMatchObject({ startIndex: 2, itemsPerPage: 2 });
    expect(Object.keys(second.body.Resources[0]).sort()).toEqual(['id', 'schemas', 'userName']);
    const none = await scim('GET', '/Users?count=0');
    expect(none.body).toMatchObject({ itemsPerPage: 0, Resources: [], totalResults: all.body.totalResults });
    const byDisplayName = await scim(
      'GET',
      `/Users?filter=${encodeURIComponent('displayName eq "page 3" or displayName eq "PAGE 4"')}`,
    );
    expect(byDisplayName.body.Resources.map((user: any) => user.displayName).sort()).toEqual([
      'Page 3',
      'Page 4',
    ]);
    const byId = await scim('GET', `/Users?filter=${encodeURIComponent(`id eq "${ours[1].id}"`)}`);
    expect(byId.body.Resources.map((user: any) => user.id)).toEqual([ours[1].id]);
  });
});

describe('SCIM Groups', () => {
  it('names are unique per directory; deleting a member removes it from the group', async () => {
    const scim = scimClient(server.url, (await createScimToken(server)).token);
    const member = (await scim('POST', '/Users', newUser('member@example.com', 'member-1'))).body.id;
    const group = await scim('POST', '/Groups', { displayName: 'Engineering', members: [{ value: member }] });
    expect(group.status).toBe(201);
    expectScimError(await scim('POST', '/Groups', { displayName: 'engineering' }), 409, 'uniqueness');
    await scim('DELETE', `/Users/${member}`);
    expect((await scim('GET', `/Groups/${group.body.id}`)).body.members).toEqual([]);
  });
});

describe('SCIM requests in the logs', () => {
  it('are access-logged by path, without the token, the filter or the password', async () => {
    const child = spawnServer({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'trace' });
    try {
      const url = await waitUntilReady(child);
      const admin = await mintToken('admin', ['entitlements:read', 'entitlements:write']);
      const { createScimToken: created } = dataOf(
        await postGraphQL<any>(
          url,
          'mutation { createScimToken { id token } }',
          {},
          { authorization: `Bearer ${admin}` },
        ),
      );
      const scim = scimClient(url, created.token);
      await scim('POST', '/Users', newUser('logged@example.com', 'logged-1', { password: 'hunter2-secret' }));
      await scim(
        'GET',
        `/Users?filter=${encodeURIComponent('userName eq "logged@example.com"')}`,
        undefined,
        {
          'x-request-id': 'scim-filter',
        },
      );
      const wrong = `${created.token.slice(0, -4)}AAAA`;
      await scimClient(url, wrong)('GET', '/Users');
      await new Promise((resolve) => setTimeout(resolve, 200));

      const output = child.output();
      for (const secret of [
        created.token,
        created.token.slice(-43),
        wrong,
        'hunter2-secret',
        'logged@example.com',
      ]) {
        expect(output).not.toContain(secret);
      }
      const lines = output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines.find((line) => line.reqId === 'scim-filter')).toMatchObject({
        msg: 'request completed',
        method: 'GET',
        path: '/scim/v2/Users',
        statusCode: 200,
      });
      expect(lines.some((line) => line.path === '/scim/v2/Users' && line.statusCode === 401)).toBe(true);
    } finally {
      await child.stop();
    }
  });
});
