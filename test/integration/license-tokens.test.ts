import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { JWK, JWTPayload } from 'jose';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

import { Scope } from '../../src/auth/caller';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import type { Subgraph } from '../../src/runtime';
import { startSubgraph } from '../../src/runtime';
import { generateSigningKey } from '../../src/services/license-keys';
import { createTestCatalog } from '../testkit/catalog';
import { describeOnMysql, openTestDatabase, testDatabaseConfig } from '../testkit/database';
import { spawnServer, waitUntilReady } from '../testkit/process';
import type { TestServer } from '../testkit/server';
import { dataOf, mintToken, postGraphQL, startTestServer } from '../testkit/server';
import { TEST_DEV_KEY_FILE } from '../testkit/workers';

const run = promisify(execFile);
const ISSUER = 'entitlements-subgraph';
const TOKEN = `query($r: [_Any!]!, $ttl: Int, $aud: String, $org: ID) {
  _entities(representations: $r) {
    ... on User { licenseToken(ttlSeconds: $ttl, audience: $aud, organizationId: $org) { token expiresAt } }
  }
}`;

/** The licensing fields and a token in one request: both come from the same read. */
const FIELDS_AND_TOKEN = `query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on User {
      tier { key }
      license { status }
      entitlements { feature { key kind } limit remaining value expiresAt }
      licenseToken { token expiresAt }
    }
  }
}`;

const jwksUrl = (graphqlUrl: string) => new URL('/.well-known/jwks.json', graphqlUrl);

/** As an independent service would: the server's published JWKS, this issuer, the license token type. */
async function verify(token: string, graphqlUrl: string, options: { audience?: string } = {}) {
  return jwtVerify(token, createRemoteJWKSet(jwksUrl(graphqlUrl)), {
    issuer: ISSUER,
    typ: 'license+jwt',
    algorithms: ['EdDSA', 'ES256'],
    ...options,
  });
}

async function licenseToken(
  server: { url: string },
  token: string,
  { id, ...variables }: { id: string; ttl?: number; aud?: string; org?: string },
) {
  return postGraphQL<any>(
    server.url,
    TOKEN,
    { r: [{ __typename: 'User', id }], ...variables },
    { authorization: `Bearer ${token}` },
  );
}

async function issued(server: { url: string }, userId: string, token: string, variables = {}) {
  const data = dataOf(await licenseToken(server, token, { id: userId, ...variables }));
  return data._entities[0].licenseToken as { token: string; expiresAt: string };
}

describe('license tokens', () => {
  let server: TestServer;
  let alice: string;

  beforeAll(async () => {
    server = await startTestServer();
    await createTestCatalog(server);
    alice = await mintToken('alice');
  });
  afterAll(() => server.stop());

  it("verify against the server's JWKS with an independent verifier, signed with a kid", async () => {
    const { token, expiresAt } = await issued(server, 'alice', alice);
    const { payload, protectedHeader } = await verify(token, server.url);
    expect(protectedHeader).toMatchObject({
      alg: expect.stringMatching(/^(EdDSA|ES256)$/),
      typ: 'license+jwt',
    });
    expect(protectedHeader.kid).toEqual(expect.any(String));
    expect(payload).toMatchObject({ iss: ISSUER, sub: 'alice', jti: expect.any(String) });
    expect(payload).not.toHaveProperty('aud');
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
    expect(new Date(expiresAt).getTime()).toBe((payload.exp as number) * 1000);
  });

  it('carry claims equal to the entitlements read in the same request', async () => {
    dataOf(await server.gql('mutation { changeTier(userId: "bob", tier: "team") { id } }'));
    dataOf(
      await server.gql(
        'mutation { grantEntitlement(input: { userId: "bob", feature: "api", limit: 50 }) { id } }',
      ),
    );
    dataOf(
      await server.gql(
        'mutation { grantEntitlement(input: { userId: "bob", feature: "theme", value: "dark" }) { id } }',
      ),
    );
    dataOf(
      await server.gql(
        'mutation { recordUsage(input: { userId: "bob", feature: "api", amount: 7 }) { allowed } }',
      ),
    );
    const reader = await mintToken('reader', [Scope.read]);
    const response = await postGraphQL<any>(
      server.url,
      FIELDS_AND_TOKEN,
      { r: [{ __typename: 'User', id: 'bob' }] },
      { authorization: `Bearer ${reader}` },
    );
    const [user] = dataOf(response)._entities;
    const { payload } = await verify(user.licenseToken.token, server.url);

    const expected = Object.fromEntries(
      user.entitlements.map((e: any) => [
        e.feature.key,
        e.feature.kind === 'METERED'
          ? { kind: 'METERED', limit: e.limit, remaining: e.remaining }
          : e.feature.kind === 'CONFIG'
            ? { kind: 'CONFIG', value: e.value }
            : { kind: e.feature.kind },
      ]),
    );
    expect(payload).toMatchObject({ sub: 'bob', tier: user.tier.key, status: user.license.status });
    expect(payload.entitlements).toEqual(expected);
    // What the token says, spelled out: the tier's and the grants' sum, what is used, the grant's value.
    expect(payload.entitlements).toEqual({
      api: { kind: 'METERED', limit: 1050, remaining: 1043 },
      seats: { kind: 'METERED', limit: 10, remaining: 10 },
      audit: { kind: 'BOOLEAN' },
      theme: { kind: 'CONFIG', value: 'dark' },
    });
  });

  it('expire when a grant in them does: two minutes, not the hour asked', async () => {
    const expiresAt = new Date(Date.now() + 2 * 60_000);
    dataOf(
      await server.gql(
        'mutation($at: DateTime!) { grantEntitlement(input: { userId: "carol", feature: "sso", expiresAt: $at }) { id } }',
        { at: expiresAt.toISOString() },
      ),
    );
    const carol = await mintToken('carol');
    const { token, expiresAt: tokenExpiresAt } = await issued(server, 'carol', carol, { ttl: 3600 });
    const { payload } = await verify(token, server.url);
    expect(payload.entitlements).toHaveProperty('sso');
    expect(payload.exp).toBe(Math.floor(expiresAt.getTime() / 1000));
    expect(new Date(tokenExpiresAt).getTime()).toBe((payload.exp as number) * 1000);
  });

  it('carry aud only when asked, and the ttl asked', async () => {
    const { token } = await issued(server, 'alice', alice, { ttl: 60, aud: 'billing-api' });
    const { payload } = await verify(token, server.url, { audience: 'billing-api' });
    expect(payload.aud).toBe('billing-api');
    expect((payload.exp as number) - (payload.iat as number)).toBe(60);
    await expect(verify(token, server.url, { audience: 'other-api' })).rejects.toThrow(/aud/);
  });

  it('of a revoked license say so and carry no entitlements', async () => {
    dataOf(await server.gql('mutation { revokeLicense(userId: "dave", reason: "chargeback") { id } }'));
    const { token } = await issued(server, 'dave', await mintToken('dave'));
    const { payload } = await verify(token, server.url);
    expect(payload).toMatchObject({ sub: 'dave', tier: 'basic', status: 'REVOKED', entitlements: {} });
  });

  it('are given to entitlements:read (and entitlements:write) for any user', async () => {
    for (const scope of [Scope.read, Scope.write]) {
      const { token } = await issued(server, 'alice', await mintToken('service', [scope]));
      expect((await verify(token, server.url)).payload.sub).toBe('alice');
    }
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a ttl under 60 seconds', { ttl: 59 }, 'ttlSeconds'],
    ['a ttl over a day', { ttl: 86_401 }, 'ttlSeconds'],
    ['an empty audience', { aud: '' }, 'audience'],
    ['an organization id of 129 characters', { org: 'o'.repeat(129) }, 'organizationId'],
  ])('refuse %s with BAD_USER_INPUT naming the field', async (_name, variables, field) => {
    const response = await licenseToken(server, alice, { id: 'alice', ...variables });
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it("refuse another user's token without entitlements:read (FORBIDDEN), and a caller without a token", async () => {
    const forbidden = await licenseToken(server, alice, { id: 'bob' });
    expect(forbidden.errors?.[0].extensions.code).toBe('FORBIDDEN');
    // Access first: a caller who may not ask learns nothing of the input rules either.
    const badTtl = await licenseToken(server, alice, { id: 'bob', ttl: 1 });
    expect(badTtl.errors?.[0].extensions.code).toBe('FORBIDDEN');
    const anonymous = await postGraphQL<any>(server.url, TOKEN, { r: [{ __typename: 'User', id: 'alice' }] });
    expect(anonymous.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('the JWKS endpoint', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { ROUTER_SECRET: 's3cret' } });
  });
  afterAll(() => server.stop());

  it('publishes public keys only, with cache headers, without a token or the router secret', async () => {
    const response = await fetch(jwksUrl(server.url));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const { keys } = (await response.json()) as { keys: JWK[] };
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const key of keys) {
      expect(key).not.toHaveProperty('d');
      expect(key).toMatchObject({ kid: expect.any(String), use: 'sig' });
    }
    expect(server.config.licenseTokens.signingKeys).toBeUndefined();
    // The generated license key is one of them, next to the development access-token key.
    expect(keys.map((key) => key.kid)).toContain(server.services.licenseTokens.publicKeys[0].kid);
  });
});

describe('configured signing keys', () => {
  it.each(['ES256', 'EdDSA'])(
    'npm run license-key -- --alg %s prints a key LICENSE_SIGNING_KEYS takes',
    async (alg) => {
      const { stdout } = await run(
        process.execPath,
        ['-r', '@swc-node/register', 'src/scripts/license-key.ts', '--alg', alg],
        { cwd: join(__dirname, '..', '..') },
      );
      const key = JSON.parse(stdout);
      expect(key).toMatchObject({ alg, kid: expect.any(String), d: expect.any(String) });
      const config = loadConfig({ LICENSE_SIGNING_KEYS: `[${stdout.trim()}]` });
      expect(config.licenseTokens.signingKeys).toEqual([key]);
    },
  );

  it('rotate: the first signs, all are published, and a token of the old first key still verifies', async () => {
    const [one, two] = [await generateSigningKey('EdDSA'), await generateSigningKey('ES256')];
    const keys = (list: JWK[]) => ({ env: { LICENSE_SIGNING_KEYS: JSON.stringify(list) } });

    const before = await startTestServer(keys([one, two]));
    let oldToken: string;
    try {
      const alice = await mintToken('alice');
      oldToken = (await issued(before, 'alice', alice)).token;
      expect(decodeProtectedHeader(oldToken)).toMatchObject({ kid: one.kid, alg: 'EdDSA' });
      const { keys: published } = (await (await fetch(jwksUrl(before.url))).json()) as { keys: JWK[] };
      expect(published.map((key) => key.kid)).toEqual(expect.arrayContaining([one.kid, two.kid]));
      await verify(oldToken, before.url);
    } finally {
      await before.stop();
    }

    const after = await startTestServer({ ...keys([two, one]), keepData: true });
    try {
      const newToken = (await issued(after, 'alice', await mintToken('alice'))).token;
      expect(decodeProtectedHeader(newToken)).toMatchObject({ kid: two.kid, alg: 'ES256' });
      await verify(newToken, after.url);
      expect((await verify(oldToken, after.url)).payload.sub).toBe('alice');
    } finally {
      await after.stop();
    }
  });
});

describe('replicas without configured keys', () => {
  it("started at once on one database publish one key and verify each other's tokens", async () => {
    const dataSource = await openTestDatabase();
    const config = loadConfig({
      AUTH_DEV_KEY_FILE: TEST_DEV_KEY_FILE,
      NODE_ENV: 'test',
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    const replicas: Subgraph[] = await Promise.all(
      [0, 1].map(() => startSubgraph(config, dataSource, createLogger(config), { backgroundJobs: false })),
    );
    try {
      await expectOneKeyAcross(replicas.map((replica) => replica.app.url));
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
      await dataSource.destroy();
    }
  });
});

describeOnMysql('two replica processes starting at once on an empty MySQL database', () => {
  it("both publish the same generated key and verify each other's tokens", async () => {
    const dataSource = await openTestDatabase();
    await dataSource.dropDatabase();
    await dataSource.destroy();
    const { url } = testDatabaseConfig() as { url: string };
    const replicas = [spawnServer({ DATABASE_URL: url }), spawnServer({ DATABASE_URL: url })];
    try {
      await expectOneKeyAcross(await Promise.all(replicas.map((replica) => waitUntilReady(replica))));
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
    }
  });
});

/** Every server publishes the same keys, and a token of each verifies against the JWKS of every other. */
async function expectOneKeyAcross(urls: string[]): Promise<void> {
  const published = await Promise.all(urls.map(async (url) => (await fetch(jwksUrl(url))).json()));
  expect(published[1]).toEqual(published[0]);
  const alice = await mintToken('alice');
  const tokens = await Promise.all(urls.map(async (url) => (await issued({ url }, 'alice', alice)).token));
  for (const token of tokens) {
    for (const url of urls) {
      const { payload }: { payload: JWTPayload } = await verify(token, url);
      expect(payload.sub).toBe('alice');
    }
  }
}
