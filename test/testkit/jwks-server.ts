import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { CryptoKey, JWK, JWTPayload } from 'jose';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';

/** An identity provider for tests: an RSA key and its JWKS served over HTTP on loopback. */
export interface TestIdentityProvider {
  jwksUrl: string;
  issuer: string;
  audience: string;
  kid: string;
  /** The public key in PEM, as an attacker would find it. */
  publicKeyPem: string;
  /** How many times the JWKS was fetched. */
  fetches(): number;
  /** When true, the JWKS endpoint accepts requests and never answers. */
  setHanging(hanging: boolean): void;
  /** Replaces the signing key: a new `kid` signs from now on, and the JWKS no longer lists the old one. */
  rotate(): Promise<void>;
  sign(
    claims: JWTPayload,
    options?: { kid?: string; key?: CryptoKey; expiresIn?: string | number },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function startIdentityProvider(): Promise<TestIdentityProvider> {
  const { privateKey: firstKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  let privateKey = firstKey;
  let kid = 'test-key-1';
  let jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  let fetches = 0;
  let hanging = false;
  const server = http.createServer((req, res) => {
    fetches += 1;
    if (hanging) return;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = 'https://idp.test/';
  const audience = 'entitlements';

  return {
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    issuer,
    audience,
    get kid() {
      return kid;
    },
    publicKeyPem: await exportSPKI(publicKey),
    fetches: () => fetches,
    setHanging: (value) => {
      hanging = value;
    },
    async rotate() {
      const next = await generateKeyPair('RS256', { extractable: true });
      privateKey = next.privateKey;
      kid = `test-key-${Number(kid.split('-').pop()) + 1}`;
      jwk = { ...(await exportJWK(next.publicKey)), kid, alg: 'RS256', use: 'sig' };
    },
    sign(claims, options = {}) {
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? kid })
        .setIssuer((claims.iss as string | undefined) ?? issuer)
        .setAudience((claims.aud as string | undefined) ?? audience)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '10m')
        .sign(options.key ?? privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
