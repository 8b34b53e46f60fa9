import type { JWK, JWTPayload } from 'jose';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

import type { Caller } from '../../src/auth/caller';
import type { KeySet } from '../../src/auth/token-verifier';
import { localKeySet, tokenVerifier } from '../../src/auth/token-verifier';

/** Verified tokens are kept: what the cache may and may not change about the answers. */

const ISSUER = 'https://idp.test/';
const AUDIENCE = 'entitlements';
/** A whole second, in seconds since the epoch. */
const T0 = Date.UTC(2030, 0, 1) / 1000;

let privateKey: CryptoKey;
let publicJwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
});

function sign(claims: JWTPayload & { exp: number }): Promise<string> {
  return new SignJWT({ scope: 'entitlements:read', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setSubject(claims.sub ?? 'alice')
    .setIssuer(ISSUER)
    .setAudience((claims.aud as string | undefined) ?? AUDIENCE)
    .setIssuedAt(T0 - 60)
    .sign(privateKey);
}

/** A verifier on a clock the test moves (`clock.ms`), counting how often jose looks a key up (verifies). */
function verifier(options: { maxVerifiedTokens?: number; version?: () => number | undefined } = {}) {
  const clock = { ms: T0 * 1000 };
  const keys = localKeySet([publicJwk]);
  let verifications = 0;
  const counted: KeySet = {
    getKey: (header, token) => {
      verifications += 1;
      return keys.getKey(header, token);
    },
    version: options.version ?? keys.version,
  };
  const callerFor = tokenVerifier(
    counted,
    { issuer: ISSUER, audience: AUDIENCE },
    { now: () => clock.ms, maxVerifiedTokens: options.maxVerifiedTokens },
  );
  return {
    clock,
    callerFor: (token: string) => callerFor(`Bearer ${token}`),
    verifications: () => verifications,
  };
}

/** What a request sees of a caller. */
const seen = (caller: Caller) => ({
  subject: caller.subject,
  scopes: [...caller.scopes],
  expiresAt: caller.expiresAt,
  problem: caller.problem,
});

describe('verified tokens', () => {
  it('verify a token once while it stays valid, and give the caller a fresh verification gives', async () => {
    const token = await sign({ exp: T0 + 600 });
    const cached = verifier();
    const first = await cached.callerFor(token);
    cached.clock.ms += 30_000;
    const again = await cached.callerFor(token);
    expect(cached.verifications()).toBe(1);
    const fresh = verifier();
    fresh.clock.ms = cached.clock.ms;
    expect(seen(again)).toEqual(seen(await fresh.callerFor(token)));
    expect(seen(again)).toEqual({
      subject: 'alice',
      scopes: ['entitlements:read'],
      expiresAt: new Date((T0 + 600) * 1000),
      problem: null,
    });
    expect(seen(first)).toEqual(seen(again));
  });

  it('refuse an expired token at the very millisecond a fresh verification does, though it was cached while valid', async () => {
    const exp = T0 + 60;
    const token = await sign({ exp });
    const cached = verifier();
    expect((await cached.callerFor(token)).subject).toBe('alice');
    // Around exp and the 5 s of clock tolerance, every 250 ms and at the edges of each second.
    const moments = [];
    for (let ms = (exp - 2) * 1000; ms <= (exp + 7) * 1000; ms += 250) moments.push(ms, ms - 1);
    for (const ms of moments) {
      cached.clock.ms = ms;
      const fresh = verifier();
      fresh.clock.ms = ms;
      expect({ ms, ...seen(await cached.callerFor(token)) }).toEqual({
        ms,
        ...seen(await fresh.callerFor(token)),
      });
    }
    cached.clock.ms = (exp + 5) * 1000 - 1;
    expect((await cached.callerFor(token)).subject).toBe('alice');
    cached.clock.ms = (exp + 5) * 1000;
    expect(seen(await cached.callerFor(token))).toMatchObject({
      subject: null,
      problem: 'The token has expired',
    });
    // Refused now, and the refusal is not kept: the clock set back (a corrected clock) accepts it again.
    cached.clock.ms = exp * 1000;
    expect((await cached.callerFor(token)).subject).toBe('alice');
  });

  it('refuse a token before its nbf and accept it once it comes (the refusal was not kept)', async () => {
    const nbf = T0 + 100;
    const token = await sign({ exp: T0 + 600, nbf });
    const cached = verifier();
    cached.clock.ms = (nbf - 6) * 1000;
    expect(seen(await cached.callerFor(token))).toMatchObject({ problem: 'The token is not valid yet' });
    cached.clock.ms = (nbf - 5) * 1000;
    expect((await cached.callerFor(token)).subject).toBe('alice');
    expect(cached.verifications()).toBe(2);
  });

  it('never keep a refused token: each attempt is verified again', async () => {
    const wrongAudience = await sign({ exp: T0 + 600, aud: 'another-api' });
    const valid = await sign({ exp: T0 + 600 });
    const tampered = `${valid.slice(0, valid.lastIndexOf('.'))}.${'A'.repeat(86)}`;
    const cached = verifier();
    for (const token of [wrongAudience, tampered]) {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        expect((await cached.callerFor(token)).subject).toBeNull();
      }
    }
    expect(cached.verifications()).toBe(6);
  });

  it('keep at most maxVerifiedTokens, dropping the least recently used first', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => sign({ sub, exp: T0 + 600 })));
    const cached = verifier({ maxVerifiedTokens: 2 });
    for (const token of [a, b, c]) await cached.callerFor(token);
    expect(cached.verifications()).toBe(3);
    // b and c are kept; a was dropped when c came.
    expect((await cached.callerFor(c)).subject).toBe('c');
    expect((await cached.callerFor(b)).subject).toBe('b');
    expect(cached.verifications()).toBe(3);
    expect((await cached.callerFor(a)).subject).toBe('a');
    expect(cached.verifications()).toBe(4);
    // a came back and pushed out the least recently used, c.
    expect((await cached.callerFor(b)).subject).toBe('b');
    expect(cached.verifications()).toBe(4);
    expect((await cached.callerFor(c)).subject).toBe('c');
    expect(cached.verifications()).toBe(5);
  });

  it('verify every token again once the key set changed, and keep nothing while it is unknown', async () => {
    let version: number | undefined = 1;
    const token = await sign({ exp: T0 + 600 });
    const cached = verifier({ version: () => version });
    await cached.callerFor(token);
    await cached.callerFor(token);
    expect(cached.verifications()).toBe(1);
    version = 2;
    await cached.callerFor(token);
    await cached.callerFor(token);
    expect(cached.verifications()).toBe(2);
    version = undefined;
    await cached.callerFor(token);
    await cached.callerFor(token);
    expect(cached.verifications()).toBe(4);
  });
});
