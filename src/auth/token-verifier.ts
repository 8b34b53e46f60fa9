import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify } from 'jose';

import type { Config } from '../config';
import { isWellFormedText } from '../domain/validation';
import type { Caller } from './caller';
import { authenticated, unauthenticated } from './caller';
import type { DevSigningKey } from './dev-keys';
import { loadOrCreateDevKey } from './dev-keys';

/** Asymmetric algorithms only: never `none`, never HMAC (whose "secret" could be a public key). */
export const ALLOWED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
];
const CLOCK_TOLERANCE_SECONDS = 5;
const MAX_SUBJECT_LENGTH = 255;

export interface Authenticator {
  /** Turns an `Authorization` value (`Bearer x`, or a bare token from a socket) into the caller. */
  callerFor(authorization: string | undefined | null): Promise<Caller>;
  /** The development JWKS to serve, when the server signs its own tokens. */
  devJwks: { keys: object[] } | null;
}

export async function createAuthenticator(config: Pick<Config, 'auth'>): Promise<Authenticator> {
  const { auth } = config;
  const devKey = auth.jwksUrl ? null : await loadOrCreateDevKey(auth.devKeyFile);
  const keys: JWTVerifyGetKey = auth.jwksUrl
    ? createRemoteJWKSet(new URL(auth.jwksUrl), {
        timeoutDuration: auth.jwksTimeoutMs,
        cooldownDuration: auth.jwksCooldownMs,
      })
    : createLocalJWKSet({ keys: [(devKey as DevSigningKey).publicJwk] });

  return {
    devJwks: devKey ? { keys: [devKey.publicJwk] } : null,
    async callerFor(authorization) {
      const token = bearerToken(authorization);
      if (!token) return unauthenticated('A bearer token is required');
      try {
        const { payload } = await jwtVerify(token, keys, {
          algorithms: ALLOWED_ALGORITHMS,
          issuer: auth.issuer,
          audience: auth.audience,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['sub', 'exp'],
        });
        if (!isSubject(payload.sub)) return unauthenticated('The token\'s "sub" claim is not accepted');
        // jose takes any number, 1e400 (Infinity) included; a socket could not be closed at such a time.
        const expiresAt = new Date((payload.exp as number) * 1000);
        if (Number.isNaN(expiresAt.getTime()))
          return unauthenticated('The token\'s "exp" claim is not accepted');
        return authenticated(payload.sub, scopesOf(payload), expiresAt);
      } catch (error) {
        return unauthenticated(rejectionReason(error), { checkUnavailable: providerFailed(error) });
      }
    },
  };
}

/** `Bearer <token>` (any case), or a bare token as sockets may send it. */
function bearerToken(authorization: string | undefined | null): string | null {
  const value = authorization?.trim();
  if (!value) return null;
  const match = /^bearer\s+(.+)$/i.exec(value);
  return match ? match[1].trim() : value;
}

/**
 * The identity behind a token: a non-blank string that fits where actors are stored, and well-formed (MySQL
 * would store two subjects that differ by an unpaired surrogate as one).
 */
function isSubject(sub: unknown): sub is string {
  return (
    typeof sub === 'string' &&
    sub.trim().length > 0 &&
    sub.length <= MAX_SUBJECT_LENGTH &&
    isWellFormedText(sub)
  );
}

/** `scope` (space-separated) or `scp` (an array, or a string). */
function scopesOf(payload: JWTPayload): string[] {
  const claim = payload.scope ?? payload.scp;
  if (Array.isArray(claim)) return claim.filter((scope): scope is string => typeof scope === 'string');
  return typeof claim === 'string' ? claim.split(' ').filter(Boolean) : [];
}

/** Enough to fix a client, never enough to probe the verifier. */
function rejectionReason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'The token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.claim === 'nbf'
      ? 'The token is not valid yet'
      : `The token's "${error.claim}" claim is not accepted`;
  }
  if (error instanceof errors.JWKSNoMatchingKey) return 'The token was signed by an unknown key';
  return providerFailed(error)
    ? 'The identity provider could not be reached to verify the token'
    : 'The token is invalid';
}

/** The JWKS could not be had (timeout, unreachable, not a JWKS): nothing is known about the token itself. */
function providerFailed(error: unknown): boolean {
  return (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    !(error instanceof errors.JOSEError)
  );
}
