import type { ExportedJWKSCache, JWTPayload, JWTVerifyGetKey } from 'jose';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwksCache, jwtVerify } from 'jose';

import type { Config } from '../config';
import { isWellFormedText } from '../domain/validation';
import type { Caller } from './caller';
import { authenticated, isReservedSubject, unauthenticated } from './caller';
import type { DevSigningKey } from './dev-keys';
import { loadOrCreateDevKey } from './dev-keys';
import { VerifiedTokens } from './verified-tokens';

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
/** Verified tokens kept (see VerifiedTokens): far more than the sessions one replica serves at once. */
const VERIFIED_TOKENS_MAX = 10_000;

export interface Authenticator {
  /** Turns an `Authorization` value (`Bearer x`, or a bare token from a socket) into the caller. */
  callerFor(authorization: string | undefined | null): Promise<Caller>;
  /** The development JWKS to serve, when the server signs its own tokens. */
  devJwks: { keys: object[] } | null;
}

/** Where signing keys come from, and which set of them is current. */
export interface KeySet {
  getKey: JWTVerifyGetKey;
  /**
   * Changes whenever the keys may have: a JWKS fetched again has a new version; undefined while jose would
   * fetch it before verifying (none yet, or older than its cache age). A verified token stands only for the
   * version it was verified with, and nothing is kept or reused while the version is undefined.
   */
  version(): number | undefined;
}

export async function createAuthenticator(config: Pick<Config, 'auth'>): Promise<Authenticator> {
  const { auth } = config;
  const devKey = auth.jwksUrl ? null : await loadOrCreateDevKey(auth.devKeyFile);
  const keys = devKey ? localKeySet([devKey.publicJwk]) : remoteKeySet(auth);
  return {
    devJwks: devKey ? { keys: [devKey.publicJwk] } : null,
    callerFor: tokenVerifier(keys, auth),
  };
}

/** A JWKS that never changes (the development key). */
export function localKeySet(keys: DevSigningKey['publicJwk'][]): KeySet {
  const getKey = createLocalJWKSet({ keys });
  return { getKey, version: () => 0 };
}

/** The identity provider's JWKS, fetched again by jose when it is older than its cache age or lacks a `kid`. */
function remoteKeySet(auth: Config['auth']): KeySet {
  // jose records each fetch here (its `uat`, when it was fetched): the version of the keys.
  const fetched = {} as ExportedJWKSCache;
  const getKey = createRemoteJWKSet(new URL(auth.jwksUrl as string), {
    timeoutDuration: auth.jwksTimeoutMs,
    cooldownDuration: auth.jwksCooldownMs,
    [jwksCache]: fetched,
  });
  return { getKey, version: () => (getKey.fresh ? fetched.uat : undefined) };
}

/**
 * Turns an `Authorization` value into the caller: the token's signature checked against `keys` with an
 * algorithm allow-list, `iss`/`aud` when configured, `exp` and `nbf`. A token verified before with the same
 * keys is answered from VerifiedTokens, which judges `exp` and `nbf` again; `now` is the clock of both.
 */
export function tokenVerifier(
  keys: KeySet,
  auth: Pick<Config['auth'], 'issuer' | 'audience'>,
  options: { now?: () => number; maxVerifiedTokens?: number } = {},
): Authenticator['callerFor'] {
  const now = options.now ?? Date.now;
  const verified = new VerifiedTokens(
    options.maxVerifiedTokens ?? VERIFIED_TOKENS_MAX,
    CLOCK_TOLERANCE_SECONDS,
  );
  return async (authorization) => {
    const token = bearerToken(authorization);
    if (!token) return unauthenticated('A bearer token is required');
    // Taken before verifying: keys fetched again meanwhile must not vouch for this verification.
    const version = keys.version();
    const at = now();
    const known = version === undefined ? undefined : verified.get(token, version, at);
    if (known) return known;
    try {
      const { payload } = await jwtVerify(token, keys.getKey, {
        algorithms: ALLOWED_ALGORITHMS,
        issuer: auth.issuer,
        audience: auth.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'exp'],
        currentDate: new Date(at),
      });
      if (!isSubject(payload.sub)) return unauthenticated('The token\'s "sub" claim is not accepted');
      if (isReservedSubject(payload.sub)) {
        return unauthenticated('The token\'s "sub" claim names an actor of the server ("system", "scim:…")');
      }
      // jose takes any number, 1e400 (Infinity) included; a socket could not be closed at such a time.
      const exp = payload.exp as number;
      const expiresAt = new Date(exp * 1000);
      if (Number.isNaN(expiresAt.getTime()))
        return unauthenticated('The token\'s "exp" claim is not accepted');
      const caller = authenticated(payload.sub, scopesOf(payload), expiresAt);
      if (version !== undefined) verified.set(token, version, { exp, nbf: payload.nbf }, caller);
      return caller;
    } catch (error) {
      return unauthenticated(rejectionReason(error), { checkUnavailable: providerFailed(error) });
    }
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
