import { createHmac } from 'node:crypto';

import { createTestCatalog } from '../testkit/catalog';
import type { TestIdentityProvider } from '../testkit/jwks-server';
import { startIdentityProvider } from '../testkit/jwks-server';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';
import { openSocket } from '../testkit/subscriptions';
import { waitUntil } from '../testkit/wait';

/**
 * A JWKS URL where nothing listens: port 1 on loopback. (The closed identity provider's own port could be taken
 * meanwhile by a test running beside, whose keys then refused the token as unknown.)
 */
const NOTHING_LISTENS = 'http://127.0.0.1:1/.well-known/jwks.json';

let idp: TestIdentityProvider;
let server: TestServer;
let admin: string;

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

const READ_ALICE =
  '{ _entities(representations: [{ __typename: "User", id: "alice" }]) { ... on User { tier { key } } } }';
const READ_BOB =
  '{ _entities(representations: [{ __typename: "User", id: "bob" }]) { ... on User { entitlements { feature { key } } } } }';

const codeOf = (response: { errors?: { extensions: { code: string } }[] }) =>
  response.errors?.[0]?.extensions.code;

beforeAll(async () => {
  idp = await startIdentityProvider();
  server = await startTestServer({
    env: {
      AUTH_JWKS_URL: idp.jwksUrl,
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: idp.audience,
      AUTH_JWKS_TIMEOUT_MS: '500',
      AUTH_JWKS_COOLDOWN_MS: '1000',
    },
  });
  admin = await idp.sign({ sub: 'admin-1', scope: 'entitlements:read entitlements:write' });
  await createTestCatalog(server, admin);
});
afterAll(async () => {
  await server.stop();
  await idp.close();
});

describe('token verification against a JWKS over HTTP', () => {
  it('accepts a valid token', async () => {
    const token = await idp.sign({ sub: 'alice' });
    expect(dataOf(await server.gqlAs(token, READ_ALICE))._entities).toEqual([{ tier: { key: 'basic' } }]);
  });

  it('does not serve development keys: its JWKS holds the license token keys alone', async () => {
    const response = await fetch(new URL('/.well-known/jwks.json', server.url));
    const { keys } = (await response.json()) as { keys: { kid: string }[] };
    expect(keys.map((key) => key.kid)).toEqual(
      server.services.licenseTokens.publicKeys.map((key) => key.kid),
    );
  });

  it('answers introspection only with a token, however the query is spelled', async () => {
    for (const query of [
      '{ __schema { queryType { name } } }',
      '{ ...F } fragment F on Query { __type(name: "User") { name } }',
    ]) {
      expect(codeOf(await server.gqlAs(null, query))).toBe('UNAUTHENTICATED');
      expect((await server.gqlAs(admin, query)).errors).toBeUndefined();
      // What is kept per document is that it introspects, not who may: no token, still refused.
      expect(codeOf(await server.gqlAs(null, query))).toBe('UNAUTHENTICATED');
    }
  });

  it('answers _service without a token, for composition', async () => {
    const response = await server.gqlAs(null, '{ _service { sdl } }');
    expect(dataOf(response)._service.sdl).toContain('type User');
  });

  const rejected: [string, () => Promise<string | null>][] = [
    ['no token', async () => null],
    ['a garbage token', async () => 'not.a.jwt'],
    [
      'an unsigned token (alg none)',
      async () =>
        `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'alice', iss: idp.issuer, aud: idp.audience, exp: nowSeconds() + 600 })}.`,
    ],
    [
      'HS256 signed with the RSA public key as the secret',
      async () => {
        const unsigned = `${base64url({ alg: 'HS256', typ: 'JWT', kid: idp.kid })}.${base64url({
          sub: 'alice',
          scope: 'entitlements:write',
          iss: idp.issuer,
          aud: idp.audience,
          exp: nowSeconds() + 600,
        })}`;
        return `${unsigned}.${createHmac('sha256', idp.publicKeyPem).update(unsigned).digest('base64url')}`;
      },
    ],
    ['a wrong issuer', () => idp.sign({ sub: 'alice', iss: 'https://evil.test/' })],
    ['a wrong audience', () => idp.sign({ sub: 'alice', aud: 'someone-else' })],
    ['an expired token', () => idp.sign({ sub: 'alice' }, { expiresIn: nowSeconds() - 60 })],
    ['a token not valid before a minute from now', () => idp.sign({ sub: 'alice', nbf: nowSeconds() + 60 })],
    ['a token without sub', () => idp.sign({ scope: 'entitlements:read' })],
    ['a token with a blank sub', () => idp.sign({ sub: '  ', scope: 'entitlements:write' })],
    [
      'a token with a numeric sub',
      () => idp.sign({ sub: 42 as unknown as string, scope: 'entitlements:write' }),
    ],
    ['a development token, once an identity provider is configured', () => server.token('alice')],
    // An audit entry of theirs would pass for the sweeper's, or a revocation for SCIM's (which "active" undoes).
    [
      "a token whose sub is the expiry sweeper's actor",
      () => idp.sign({ sub: ' System', scope: 'entitlements:write' }),
    ],
    [
      "a token whose sub is a SCIM client's actor",
      () => idp.sign({ sub: 'scim:tok-1', scope: 'entitlements:write' }),
    ],
  ];

  it.each(rejected)('refuses %s with UNAUTHENTICATED', async (_name, makeToken) => {
    const token = await makeToken();
    const read = await server.gqlAs(token, READ_ALICE);
    expect(read.data?._entities ?? [null]).toEqual([null]);
    expect(codeOf(read)).toBe('UNAUTHENTICATED');
    expect(codeOf(await server.gqlAs(token, '{ features { key } }'))).toBe('UNAUTHENTICATED');
    expect(
      codeOf(await server.gqlAs(token, 'mutation { revokeLicense(userId: "alice", reason: "x") { id } }')),
    ).toBe('UNAUTHENTICATED');
  });

  it('refuses a token signed by an unknown key, fetching the JWKS again at most once per cooldown', async () => {
    const { generateKeyPair } = await import('jose');
    const { privateKey } = await generateKeyPair('RS256');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const before = idp.fetches();
    const first = await idp.sign({ sub: 'alice' }, { kid: 'rotated-key', key: privateKey });
    expect(codeOf(await server.gqlAs(first, READ_ALICE))).toBe('UNAUTHENTICATED');
    expect(idp.fetches()).toBe(before + 1);
    const second = await idp.sign({ sub: 'alice' }, { kid: 'another-key', key: privateKey });
    expect(codeOf(await server.gqlAs(second, READ_ALICE))).toBe('UNAUTHENTICATED');
    expect(idp.fetches()).toBe(before + 1);
  });

  it('reads scopes from an scp array as well', async () => {
    const token = await idp.sign({ sub: 'svc', scp: ['entitlements:read'] });
    expect(dataOf(await server.gqlAs(token, READ_BOB))._entities).toHaveLength(1);
  });
});

describe('authorization', () => {
  it('lets a user read its own fields and not another user’s', async () => {
    const alice = await idp.sign({ sub: 'alice' });
    expect(dataOf(await server.gqlAs(alice, READ_ALICE))._entities[0].tier.key).toBe('basic');
    const other = await server.gqlAs(alice, READ_BOB);
    expect(codeOf(other)).toBe('FORBIDDEN');
    expect(other.data?._entities ?? [null]).toEqual([null]);
  });

  it('refuses a bare _entities reference without a token or for another user', async () => {
    const bare = '{ _entities(representations: [{ __typename: "User", id: "bob" }]) { ... on User { id } } }';
    expect(codeOf(await server.gqlAs(null, bare))).toBe('UNAUTHENTICATED');
    expect(codeOf(await server.gqlAs(await idp.sign({ sub: 'alice' }), bare))).toBe('FORBIDDEN');
  });

  it('lets any valid token read the catalog', async () => {
    const token = await idp.sign({ sub: 'nobody-special' });
    const data = dataOf(await server.gqlAs(token, '{ features { key } tiers { key } }'));
    expect(data.tiers.map((t: any) => t.key)).toEqual(['basic', 'team', 'corp']);
  });

  it('lets a user read its own audit events only, and everyone’s with entitlements:read', async () => {
    dataOf(await server.gqlAs(admin, 'mutation { changeTier(userId: "carol", tier: "team") { id } }'));
    const carol = await idp.sign({ sub: 'carol' });
    const own = dataOf(
      await server.gqlAs(carol, '{ licenseEvents(userId: "carol") { events { type actor } } }'),
    );
    expect(own.licenseEvents.events).toEqual([{ type: 'TIER_CHANGED', actor: 'admin-1' }]);
    expect(codeOf(await server.gqlAs(carol, '{ licenseEvents(userId: "dave") { events { id } } }'))).toBe(
      'FORBIDDEN',
    );
    expect(codeOf(await server.gqlAs(carol, '{ licenseEvents { events { id } } }'))).toBe('FORBIDDEN');
    const reader = await idp.sign({ sub: 'auditor', scope: 'entitlements:read' });
    expect(
      dataOf(await server.gqlAs(reader, '{ licenseEvents { events { id } } }')).licenseEvents.events.length,
    ).toBeGreaterThan(0);
  });

  const future = new Date(Date.now() + 86_400_000).toISOString();
  const MUTATIONS = [
    'upsertFeature(input: { key: "x", kind: BOOLEAN }) { key }',
    'upsertTier(input: { key: "x", name: "X", rank: 1, entitlements: [] }) { key }',
    'grantEntitlement(input: { userId: "alice", feature: "sso" }) { id }',
    'revokeEntitlement(grantId: "00000000-0000-0000-0000-000000000000") { id }',
    'changeTier(userId: "alice", tier: "corp") { id }',
    `startTrial(userId: "alice", tier: "corp", endsAt: "${future}") { id }`,
    'endTrial(userId: "alice") { id }',
    'revokeLicense(userId: "alice", reason: "no") { id }',
    'restoreLicense(userId: "alice") { id }',
  ];

  it.each(MUTATIONS)('refuses %s without entitlements:write, and changes nothing', async (mutation) => {
    const before = dataOf(
      await server.gqlAs(
        admin,
        '{ licenseEvents(first: 1000) { events { id } } features { key } tiers { key } }',
      ),
    );
    for (const scope of ['entitlements:read usage:write', '']) {
      const token = await idp.sign({ sub: 'alice', scope });
      expect(codeOf(await server.gqlAs(token, `mutation { ${mutation} }`))).toBe('FORBIDDEN');
    }
    expect(codeOf(await server.gqlAs(null, `mutation { ${mutation} }`))).toBe('UNAUTHENTICATED');
    expect(
      dataOf(
        await server.gqlAs(
          admin,
          '{ licenseEvents(first: 1000) { events { id } } features { key } tiers { key } }',
        ),
      ),
    ).toEqual(before);
  });

  it('records the caller’s sub as the actor of a change', async () => {
    const granted = dataOf(
      await server.gqlAs(
        admin,
        'mutation { grantEntitlement(input: { userId: "erin", feature: "sso" }) { grantedBy } }',
      ),
    );
    expect(granted.grantEntitlement.grantedBy).toBe('admin-1');
  });
});

describe('a token verified before (kept by the verifier)', () => {
  it('is refused once the identity provider dropped its key and the JWKS was fetched again', async () => {
    const rotating = await startIdentityProvider();
    let own: TestServer | null = null;
    try {
      own = await startTestServer({
        env: {
          AUTH_JWKS_URL: rotating.jwksUrl,
          AUTH_ISSUER: rotating.issuer,
          AUTH_AUDIENCE: rotating.audience,
          AUTH_JWKS_COOLDOWN_MS: '1',
        },
      });
      const old = await rotating.sign({ sub: 'alice' });
      expect(dataOf(await own.gqlAs(old, READ_ALICE))._entities).toHaveLength(1);
      await rotating.rotate();
      // Still the keys fetched before: accepted, as jose alone would.
      expect(dataOf(await own.gqlAs(old, READ_ALICE))._entities).toHaveLength(1);
      // A token with the new key's kid makes the JWKS be fetched again...
      const renewed = await rotating.sign({ sub: 'alice' });
      expect(dataOf(await own.gqlAs(renewed, READ_ALICE))._entities).toHaveLength(1);
      // ...after which the old token is verified again, against keys that no longer hold its own.
      const refused = await own.gqlAs(old, READ_ALICE);
      expect(codeOf(refused)).toBe('UNAUTHENTICATED');
      expect(refused.errors?.[0].message).toMatch(/unknown key/);
    } finally {
      await own?.stop();
      await rotating.close();
    }
  });

  it('is refused, over HTTP and on a socket, once it has expired', async () => {
    // Expired a second ago: still within the 5 s of clock tolerance for about four more (one was too few on a
    // loaded machine), refused after them.
    const token = await idp.sign({ sub: 'alice' }, { expiresIn: nowSeconds() - 1 });
    expect(dataOf(await server.gqlAs(token, READ_ALICE))._entities).toHaveLength(1);
    await waitUntil(async () => codeOf(await server.gqlAs(token, READ_ALICE)) === 'UNAUTHENTICATED', {
      what: 'the kept token to be refused',
    });
    const socket = openSocket(server.wsUrl, { connectionParams: { token } });
    try {
      expect(await socket.closed).toMatchObject({ code: 4401, reason: expect.stringMatching(/expired/) });
    } finally {
      await socket.close();
    }
  });
});

describe('an identity provider that is slow or down', () => {
  it('gives UNAUTHENTICATED within the JWKS timeout, never a hang', async () => {
    const hangingIdp = await startIdentityProvider();
    hangingIdp.setHanging(true);
    const slow = await startTestServer({
      env: { AUTH_JWKS_URL: hangingIdp.jwksUrl, AUTH_JWKS_TIMEOUT_MS: '300' },
    });
    try {
      const token = await hangingIdp.sign({ sub: 'alice' });
      const startedAt = Date.now();
      const response = await slow.gqlAs(token, READ_ALICE);
      expect(codeOf(response)).toBe('UNAUTHENTICATED');
      expect(response.errors?.[0].message).toMatch(/could not be reached/);
      expect(Date.now() - startedAt).toBeLessThan(10_000);
    } finally {
      await slow.stop();
      await hangingIdp.close();
    }
  });

  it('gives UNAUTHENTICATED when nothing listens at the JWKS URL', async () => {
    const goneIdp = await startIdentityProvider();
    const token = await goneIdp.sign({ sub: 'alice' });
    await goneIdp.close();
    const down = await startTestServer({ env: { AUTH_JWKS_URL: NOTHING_LISTENS } });
    try {
      expect(codeOf(await down.gqlAs(token, READ_ALICE))).toBe('UNAUTHENTICATED');
    } finally {
      await down.stop();
    }
  });

  it('closes a socket with 1013 (try again later), not 4401: the token itself may be fine', async () => {
    const goneIdp = await startIdentityProvider();
    const token = await goneIdp.sign({ sub: 'alice' });
    await goneIdp.close();
    const down = await startTestServer({ env: { AUTH_JWKS_URL: NOTHING_LISTENS } });
    const socket = openSocket(down.wsUrl, { connectionParams: { token } });
    try {
      expect(await socket.closed).toMatchObject({
        code: 1013,
        reason: expect.stringMatching(/could not be reached/),
      });
    } finally {
      await socket.close();
      await down.stop();
    }
  });
});
