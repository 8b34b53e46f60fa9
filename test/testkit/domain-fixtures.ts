import type { LicenseState, OrganizationState } from '../../src/domain/effective';
import { defaultLicense, effectiveEntitlements } from '../../src/domain/effective';
import type {
  Catalog,
  Entitlement,
  Feature,
  FeatureKind,
  Grant,
  JsonValue,
  OrganizationLicense,
  Override,
  OverrideEffect,
  Tier,
} from '../../src/domain/types';

/** Factories for the pure rules' tests (src/domain): features, tiers, grants, seats; no database. */

export const NOW = new Date('2026-06-15T12:00:00.000Z');
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const plus = (date: Date, ms: number) => new Date(date.getTime() + ms);
/** `ms` after NOW (before, when negative). */
export const at = (ms: number) => plus(NOW, ms);

export const feature = (
  key: string,
  kind: FeatureKind = 'BOOLEAN',
  fields: Partial<Feature> = {},
): Feature => ({
  key,
  kind,
  description: null,
  usagePeriod: 'MONTH',
  meterScope: 'USER',
  alertThresholds: [],
  ...fields,
});

export type Entry = [Feature, { limit?: number | null; value?: JsonValue }?];

export const tier = (key: string, rank: number, entries: Entry[]): Tier => ({
  key,
  name: key,
  rank,
  entitlements: entries.map(([f, o]) => ({ feature: f, limit: o?.limit ?? null, value: o?.value ?? null })),
});

export const catalogOf = (features: Feature[], tiers: Tier[]): Catalog => ({
  features: new Map(features.map((f) => [f.key, f])),
  tiers: new Map(tiers.map((t) => [t.key, t])),
});

// One catalog with organization-pooled credits and two tiers of one rank, for the seat and group rules.
export const SSO = feature('sso');
export const AUDIT = feature('audit');
export const API = feature('api', 'METERED');
export const THEME = feature('theme', 'CONFIG');
export const CREDITS = feature('credits', 'METERED', { meterScope: 'ORGANIZATION' });

export const FREE = tier('free', 0, [
  [API, { limit: 100 }],
  [THEME, { value: 'grey' }],
]);
export const PRO = tier('pro', 10, [
  [SSO],
  [API, { limit: 1000 }],
  [THEME, { value: 'blue' }],
  [CREDITS, { limit: 30 }],
]);
export const SUPPORT = tier('support', 10, [[AUDIT], [THEME, { value: 'green' }]]);
export const ENTERPRISE = tier('enterprise', 20, [
  [SSO],
  [AUDIT],
  [API],
  [THEME, { value: 'gold' }],
  [CREDITS],
]);

export const CATALOG = catalogOf([SSO, AUDIT, API, THEME, CREDITS], [FREE, PRO, SUPPORT, ENTERPRISE]);

/** u1's license on the free tier, over CATALOG. */
export function licenseState(fields: Partial<LicenseState> = {}): LicenseState {
  return {
    license: { ...defaultLicense('u1'), baseTierKey: 'free' },
    grants: [],
    catalog: CATALOG,
    defaultTier: 'free',
    ...fields,
  };
}

/** An entitlement from the tier with nothing else on it, as the rules build one; `fields` set the rest. */
export const entitlement = (f: Feature, fields: Partial<Entitlement> = {}): Entitlement => ({
  feature: f,
  source: 'TIER',
  grants: [],
  organizations: [],
  pools: [],
  override: null,
  limit: null,
  used: null,
  remaining: null,
  value: null,
  expiresAt: null,
  ...fields,
});

/** The effective entitlement to `key`, if any; narrowed to `organizationId` when given. */
export const entitlementOf = (
  s: LicenseState,
  key: string,
  organizationId: string | null = null,
  now = NOW,
): Entitlement | undefined =>
  effectiveEntitlements(s, now, organizationId).find((e) => e.feature.key === key);

let grantSeq = 0;
/** u1's grant, active since a day. */
export function grant(featureKey: string, fields: Partial<Grant> = {}): Grant {
  grantSeq += 1;
  return {
    id: `g${grantSeq}`,
    userId: 'u1',
    organizationId: null,
    featureKey,
    limit: null,
    value: null,
    startsAt: at(-DAY),
    expiresAt: null,
    revokedAt: null,
    revokeReason: null,
    grantedBy: 'admin',
    reason: null,
    createdAt: at(-DAY),
    ...fields,
  };
}

export const organizationGrant = (organizationId: string, featureKey: string, fields: Partial<Grant> = {}) =>
  grant(featureKey, { userId: null, organizationId, ...fields });

let overrideSeq = 0;
export function override(
  featureKey: string,
  effect: OverrideEffect,
  fields: Partial<Override> = {},
): Override {
  overrideSeq += 1;
  return {
    id: `o${overrideSeq}`,
    userId: 'u1',
    featureKey,
    effect,
    limit: null,
    value: null,
    expiresAt: null,
    reason: null,
    createdBy: 'admin',
    createdAt: at(-HOUR),
    endedAt: null,
    ...fields,
  };
}

/** u1's seat in an organization on `tierKey`, with the organization's grants and pooled usage. */
export function seatIn(
  organizationId: string,
  tierKey: string,
  fields: { status?: OrganizationLicense['status']; grants?: Grant[]; used?: Record<string, number> } = {},
): OrganizationState {
  return {
    license: {
      organizationId,
      tierKey,
      seatLimit: null,
      seatsUsed: 1,
      status: fields.status ?? 'ACTIVE',
      revokedAt: null,
      revokeReason: null,
      updatedAt: NOW,
    },
    seat: { id: '1', organizationId, userId: 'u1', assignedAt: at(-DAY), assignedBy: 'admin' },
    grants: fields.grants ?? [],
    usedByFeature: new Map(Object.entries(fields.used ?? {})),
  };
}
