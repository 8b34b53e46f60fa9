import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { decodeJwt } from 'jose';

import { loadOrCreateDevKey } from '../../src/auth/dev-keys';
import type { TestServer } from '../testkit/server';
import { dataOf, startTestServer } from '../testkit/server';
import { TEST_DEV_KEY_FILE } from '../testkit/workers';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/** `npm run token -- ARGS`, as the README shows it (without npm's own banner). */
async function tokenScript(args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, ['-r', '@swc-node/register', 'src/scripts/token.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, AUTH_DEV_KEY_FILE: TEST_DEV_KEY_FILE, ...env },
  });
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ seedCatalog: true });
});
afterAll(() => server.stop());

describe('development keys', () => {
  it('are created once, kept private on disk, and reused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dev-key-'));
    try {
      const path = join(dir, 'nested', 'key.json');
      const first = await loadOrCreateDevKey(path);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const second = await loadOrCreateDevKey(path);
      expect(second.kid).toBe(first.kid);
      expect(second.publicJwk).toEqual(first.publicJwk);
      expect(first.publicJwk).not.toHaveProperty('d');
      expect(JSON.parse(readFileSync(path, 'utf8'))).toHaveProperty('d');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('publishes the public half at /.well-known/jwks.json', async () => {
    const response = await fetch(new URL('/.well-known/jwks.json', server.url));
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    const key = await loadOrCreateDevKey(TEST_DEV_KEY_FILE);
    // Next to the license token keys (see license-tokens.test.ts).
    const published = keys.find((entry) => entry.kid === key.kid);
    expect(published).toEqual(key.publicJwk);
    expect(published).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(published).not.toHaveProperty('d');
  });
});

describe('npm run token', () => {
  it('prints a token the server accepts, with the given subject and scopes, valid for an hour', async () => {
    const { stdout } = await tokenScript([
      '--sub',
      'alice',
      '--scope',
      'entitlements:read entitlements:write',
    ]);
    const token = stdout.trim();
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: 'alice', scope: 'entitlements:read entitlements:write' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    const granted = dataOf(
      await server.gqlAs(token, 'mutation { changeTier(userId: "bob", tier: "pro") { id } }'),
    );
    expect(granted).toEqual({ changeTier: { id: 'bob' } });
  });

  it('takes --ttl', async () => {
    const { stdout } = await tokenScript(['--sub', 'alice', '--ttl', '5m']);
    const claims = decodeJwt(stdout.trim());
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
  });

  it('refuses to run without --sub, or when an identity provider is configured', async () => {
    await expect(tokenScript([])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('usage'),
    });
    await expect(
      tokenScript(['--sub', 'alice'], { AUTH_JWKS_URL: 'https://idp.example.com/jwks' }),
    ).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('AUTH_JWKS_URL') });
  });

  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['--sub'], "Option '--sub <value>' argument missing"],
  ])('the token command refuses %j in one line naming the flag, with the usage', async (args, reason) => {
    const failed = await tokenScript(args).then(
      () => null,
      (error: { code: number; stderr: string; stdout: string }) => error,
    );
    expect(failed).toMatchObject({ code: 2, stdout: '' });
    expect(failed!.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/usage: npm run token/)]);
    expect(failed!.stderr).toContain(reason);
  });
});
