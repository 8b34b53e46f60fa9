import { groupBy } from './group-by';
import { periodWindow } from './periods';
import type {
  Catalog,
  Entitlement,
  Feature,
  Grant,
  JsonValue,
  License,
  Tier,
  Trial,
  UsageMeter,
} from './types';

/** GraphQL `Int` is 32-bit; summed limits saturate here instead of failing serialization. */
export const MAX_LIMIT = 2_147_483_647;

/** The license of an identity that has no record yet (the rule "Effective tier"). */
export function defaultLicense(userId: string): License {
  return {
    userId,
    baseTierKey: null,
    status: 'ACTIVE',
    revokedAt: null,
    revokeReason: null,
    trial: null,
    updatedAt: new Date(0),
  };
}

// getTime() rather than `<=` on Dates: these run per grant and user on every read, and a Date compared
// with `<` goes through valueOf each time.
export function isTrialActive(trial: Trial | null, now: Date): trial is Trial {
  const t = now.getTime();
  return trial !== null && trial.startedAt.getTime() <= t && t < trial.endsAt.getTime();
}

export function isGrantActive(grant: Grant, now: Date): boolean {
  const t = now.getTime();
  return (
    grant.revokedAt === null &&
    grant.startsAt.getTime() <= t &&
    (grant.expiresAt === null || t < grant.expiresAt.getTime())
  );
}

/** A tier's entries by feature key, built once per tier object (catalog objects never change once read). */
const entriesByTier = new WeakMap<Tier, ReadonlyMap<string, Tier['entitlements'][number]>>();

function tierEntries(tier: Tier): ReadonlyMap<string, Tier['entitlements'][number]> {
  let entries = entriesByTier.get(tier);
  if (!entries) {
    entries = new Map(tier.entitlements.map((entry) => [entry.feature.key, entry]));
    entriesByTier.set(tier, entries);
  }
  return entries;
}

/** A tier that is not (or no longer) in the catalog grants nothing but still has a name to show. */
export function resolveTier(catalog: Catalog, key: string): Tier {
  return catalog.tiers.get(key) ?? { key, name: key, rank: 0, entitlements: [] };
}

export function baseTierKey(license: License, defaultTier: string): string {
  return license.baseTierKey ?? defaultTier;
}

/** Effective tier: the trial's tier while the trial runs, else the base tier. */
export function effectiveTierKey(license: License, defaultTier: string, now: Date): string {
  return isTrialActive(license.trial, now) ? license.trial.tierKey : baseTierKey(license, defaultTier);
}

export interface LicenseState {
  license: License;
  /** The user's grants that are not revoked (active, future or expired: the rules decide). */
  grants: Grant[];
  catalog: Catalog;
  defaultTier: string;
  /** Usage in the current period, by feature key; absent means 0. */
  usedByFeature?: ReadonlyMap<string, number>;
}

/** Effective entitlements: one entitlement per feature, from the effective tier plus active grants; none while revoked. */
export function effectiveEntitlements(state: LicenseState, now: Date): Entitlement[] {
  const { license, grants, catalog, defaultTier } = state;
  if (license.status === 'REVOKED') return [];

  const trialRunning = isTrialActive(license.trial, now);
  const tier = resolveTier(catalog, effectiveTierKey(license, defaultTier, now));
  const tierSources = tierEntries(tier);
  const activeGrantsByFeature = groupBy(
    grants.filter((grant) => isGrantActive(grant, now) && catalog.features.has(grant.featureKey)),
    (grant) => grant.featureKey,
  );

  const featureKeys = [...new Set([...tierSources.keys(), ...activeGrantsByFeature.keys()])].sort();
  return featureKeys.map((key) => {
    const tierEntry = tierSources.get(key);
    const feature = tierEntry?.feature ?? (catalog.features.get(key) as Feature);
    const contributing = newestFirst(activeGrantsByFeature.get(key) ?? NO_GRANTS);
    const limit =
      feature.kind !== 'METERED'
        ? null
        : contributing.length === 0
          ? mergeLimits([tierEntry!.limit])
          : mergeLimits([...(tierEntry ? [tierEntry.limit] : []), ...contributing.map((g) => g.limit)]);
    const counted = feature.kind === 'METERED' ? (state.usedByFeature?.get(key) ?? 0) : null;
    // An unlimited meter may count past GraphQL's 32-bit Int; it shows the Int maximum from there on.
    const used = counted === null ? null : Math.min(counted, MAX_LIMIT);
    return {
      feature,
      source: contributing.length > 0 ? 'GRANT' : trialRunning ? 'TRIAL' : 'TIER',
      grants: contributing,
      limit,
      used,
      remaining: counted === null || limit === null ? null : Math.max(0, limit - counted),
      value: feature.kind === 'CONFIG' ? configValue(contributing, tierEntry?.value) : null,
      expiresAt: accessEnd(state, key, now),
    };
  });
}

/** Everything the User fields show, computed once per user and request. */
export interface LicenseView {
  userId: string;
  license: {
    status: License['status'];
    baseTier: Tier;
    trial: { tier: Tier; startedAt: Date; endsAt: Date; active: boolean } | null;
    revokedAt: Date | null;
    revokeReason: string | null;
    updatedAt: Date;
  };
  tier: Tier;
  entitlements: Entitlement[];
  /** When the view was computed; usage meters are derived from it on demand (see usageMeters). */
  now: Date;
}

export function viewLicense(state: LicenseState, now: Date): LicenseView {
  const { license, catalog, defaultTier } = state;
  const entitlements = effectiveEntitlements(state, now);
  return {
    userId: license.userId,
    license: {
      status: license.status,
      baseTier: resolveTier(catalog, baseTierKey(license, defaultTier)),
      trial: license.trial && {
        tier: resolveTier(catalog, license.trial.tierKey),
        startedAt: license.trial.startedAt,
        endsAt: license.trial.endsAt,
        active: isTrialActive(license.trial, now),
      },
      revokedAt: license.revokedAt,
      revokeReason: license.revokeReason,
      updatedAt: license.updatedAt,
    },
    tier: resolveTier(catalog, effectiveTierKey(license, defaultTier, now)),
    entitlements,
    now,
  };
}

/** `hasEntitlement`: entitled now and, for a metered feature, not exhausted in the current period. */
export function allowsUse(entitlement: Entitlement | undefined): boolean {
  if (!entitlement) return false;
  return (
    entitlement.feature.kind !== 'METERED' || entitlement.remaining === null || entitlement.remaining > 0
  );
}

/** One meter per metered feature the user is entitled to, in the feature's current period. */
export function usageMeters(entitlements: Entitlement[], now: Date): UsageMeter[] {
  return entitlements
    .filter((entitlement) => entitlement.feature.kind === 'METERED')
    .map((entitlement) => {
      const window = periodWindow(entitlement.feature.usagePeriod, now);
      return {
        feature: entitlement.feature,
        used: entitlement.used ?? 0,
        limit: entitlement.limit,
        remaining: entitlement.remaining,
        periodStart: window.start,
        periodEnd: window.end,
      };
    });
}

/** METERED limits add up; one unlimited (null) source makes the whole entitlement unlimited. */
export function mergeLimits(limits: (number | null)[]): number | null {
  if (limits.some((limit) => limit === null)) return null;
  return Math.min(
    MAX_LIMIT,
    (limits as number[]).reduce((sum, limit) => sum + limit, 0),
  );
}

/** CONFIG: the newest active grant that sets a value wins, else the tier's value. */
function configValue(grantsNewestFirst: Grant[], tierValue: JsonValue | undefined): JsonValue {
  const fromGrant = grantsNewestFirst.find((grant) => grant.value !== null && grant.value !== undefined);
  return fromGrant ? fromGrant.value : (tierValue ?? null);
}

const NO_GRANTS: Grant[] = [];

function newestFirst(grants: Grant[]): Grant[] {
  if (grants.length < 2) return grants;
  return [...grants].sort(
    (a, b) =>
      b.startsAt.getTime() - a.startsAt.getTime() ||
      b.createdAt.getTime() - a.createdAt.getTime() ||
      b.id.localeCompare(a.id),
  );
}

export interface Interval {
  start: Date;
  end: Date | null;
}

/**
 * When access to `featureKey` ends if nothing changes: the end of the unbroken run of sources
 * (trial tier, then base tier, then every grant, including ones that start later) covering `now`.
 */
export function accessEnd(state: LicenseState, featureKey: string, now: Date): Date | null {
  const { license, catalog, defaultTier } = state;
  const grants = (tier: Tier) => tierEntries(tier).has(featureKey);
  const intervals: Interval[] = [];
  const base = resolveTier(catalog, baseTierKey(license, defaultTier));
  const trial = isTrialActive(license.trial, now) ? license.trial : null;
  // The common case: the base tier covers it from now on, with no end, whatever else does.
  if (!trial && grants(base)) return null;
  if (trial) {
    if (grants(resolveTier(catalog, trial.tierKey))) intervals.push({ start: now, end: trial.endsAt });
    if (grants(base)) intervals.push({ start: trial.endsAt, end: null });
  }
  for (const grant of state.grants) {
    if (grant.featureKey === featureKey && grant.revokedAt === null) {
      intervals.push({ start: grant.startsAt, end: grant.expiresAt });
    }
  }
  return coverageEnd(now, intervals);
}

/** The end of the union of `intervals` that is contiguous from `now`; null when it never ends. */
export function coverageEnd(now: Date, intervals: Interval[]): Date | null {
  let end = now;
  for (;;) {
    const extending = intervals.filter(
      (interval) => interval.start <= end && (interval.end === null || interval.end > end),
    );
    if (extending.length === 0) return end;
    if (extending.some((interval) => interval.end === null)) return null;
    end = new Date(Math.max(...extending.map((interval) => (interval.end as Date).getTime())));
  }
}
