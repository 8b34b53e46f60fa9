import { SignJWT } from 'jose';

import type { DevSigningKey } from './dev-keys';
import { DEV_KEY_ALGORITHM } from './dev-keys';

export interface DevTokenClaims {
  sub: string;
  scopes: string[];
  ttlSeconds: number;
  issuer?: string;
  audience?: string;
}

/** A token signed with the development key, as `npm run token` prints it. */
export function signDevToken(key: DevSigningKey, claims: DevTokenClaims): Promise<string> {
  const jwt = new SignJWT({ scope: claims.scopes.join(' ') })
    .setProtectedHeader({ alg: DEV_KEY_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + claims.ttlSeconds);
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  return jwt.sign(key.privateKey);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `15m`, `12h`, `7d` to seconds; null when it is none of these. */
export function parseTtl(ttl: string): number | null {
  const match = /^(\d+)([smhd]?)$/.exec(ttl.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] || 's'];
  return seconds > 0 ? seconds : null;
}
