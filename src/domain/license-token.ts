import type { LicenseView } from './effective';
import type { Entitlement, FeatureKind, JsonValue, LicenseStatus } from './types';

/** One feature in a license token: its kind, and only what that kind has (null limit: unlimited). */
export type TokenEntitlement =
  | { kind: 'BOOLEAN' }
  | { kind: 'METERED'; limit: number | null; remaining: number | null }
  | { kind: 'CONFIG'; value: JsonValue };

/** The payload of a license token (the contract's T1); times in seconds since the epoch. */
export interface LicenseTokenClaims {
  iss: string;
  sub: string;
  /** Only when the caller asked for one. */
  aud?: string;
  iat: number;
  exp: number;
  jti: string;
  /** The effective tier's key. */
  tier: string;
  status: LicenseStatus;
  /** Keyed by feature key; empty while the license is revoked. */
  entitlements: Record<string, TokenEntitlement>;
}

export interface LicenseTokenOptions {
  issuer: string;
  audience: string | null;
  ttlSeconds: number;
  jti: string;
}

/**
 * The claims of a license token, from the same view every other User field reads, as of `view.now`. It
 * expires after `ttlSeconds`, or earlier when something in it would stop being true (see claimsChangeAt).
 */
export function licenseTokenClaims(view: LicenseView, options: LicenseTokenOptions): LicenseTokenClaims {
  const issuedAt = view.now.getTime();
  const end = Math.min(issuedAt + options.ttlSeconds * 1000, claimsChangeAt(view)?.getTime() ?? Infinity);
  return {
    iss: options.issuer,
    sub: view.userId,
    ...(options.audience === null ? {} : { aud: options.audience }),
    iat: Math.floor(issuedAt / 1000),
    // Rounded down: never later than the moment it must end.
    exp: Math.floor(end / 1000),
    jti: options.jti,
    tier: view.tier.key,
    status: view.license.status,
    entitlements: Object.fromEntries(
      view.entitlements.map((entitlement) => [entitlement.feature.key, tokenEntitlement(entitlement)]),
    ),
  };
}

const byKind: { [K in FeatureKind]: (entitlement: Entitlement) => TokenEntitlement } = {
  BOOLEAN: () => ({ kind: 'BOOLEAN' }),
  METERED: ({ limit, remaining }) => ({ kind: 'METERED', limit, remaining }),
  CONFIG: ({ value }) => ({ kind: 'CONFIG', value }),
};

function tokenEntitlement(entitlement: Entitlement): TokenEntitlement {
  return byKind[entitlement.feature.kind](entitlement);
}

/**
 * The first moment a claim of the view would stop being true if nothing changes: an entitlement ends
 * (`expiresAt`), a grant that adds to a limit or sets a value ends while the feature stays, an override runs
 * out, or the trial ends (and `tier` with it). Null when nothing in it ends. `remaining` is a snapshot, not counted here.
 */
export function claimsChangeAt(view: LicenseView): Date | null {
  const ends: number[] = [];
  if (view.license.trial?.active) ends.push(view.license.trial.endsAt.getTime());
  // An override that runs out changes what it decides (a DENY gives the feature back).
  for (const override of view.state.overrides ?? []) {
    if (override.endedAt === null && override.expiresAt && override.expiresAt > view.now) {
      ends.push(override.expiresAt.getTime());
    }
  }
  for (const entitlement of view.entitlements) {
    if (entitlement.expiresAt) ends.push(entitlement.expiresAt.getTime());
    // A BOOLEAN grant changes nothing in the token when another source keeps the feature.
    if (entitlement.feature.kind === 'BOOLEAN') continue;
    for (const grant of entitlement.grants) if (grant.expiresAt) ends.push(grant.expiresAt.getTime());
  }
  return ends.length === 0 ? null : new Date(Math.min(...ends));
}
