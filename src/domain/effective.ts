import { groupBy } from './group-by';
import { periodWindow } from './periods';
import type {
  Catalog,
  Entitlement,
  EntitlementSource,
  Feature,
  Grant,
  GroupTier,
  JsonValue,
  License,
  OrganizationLicense,
  Override,
  PoolMeter,
  Seat,
  Tier,
  TierEntitlement,
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

/** An organization where the identity holds a seat, as the rules see it. */
export interface OrganizationState {
  license: OrganizationLicense;
  seat: Seat;
  /** The organization's grants that are not revoked (active, future or expired: the rules decide). */
  grants: Grant[];
  /** Pooled usage in the current period, by feature key; absent means 0. */
  usedByFeature: ReadonlyMap<string, number>;
}

export interface LicenseState {
  license: License;
  /** The user's grants that are not revoked (active, future or expired: the rules decide). */
  grants: Grant[];
  catalog: Catalog;
  defaultTier: string;
  /** Usage in the current period, by feature key; absent means 0. */
  usedByFeature?: ReadonlyMap<string, number>;
  /** The organizations whose seat the identity holds, whatever their license's status. */
  organizations?: OrganizationState[];
  /** The identity's overrides that have not ended (expired ones too: the rules decide). */
  overrides?: Override[];
  /** The tiers its SCIM groups give (rule S4), one entry per mapped group it is a member of. */
  groupTiers?: GroupTier[];
}

/** One source of entitlements: the identity's own license, a tier its groups give, or one organization's. */
interface Source {
  organization: OrganizationState | null;
  tier: Tier;
  /**
   * A group's tier that is also the identity's own effective tier: a tier counts once, so it adds nothing to
   * limits, but it still covers its features when a trial of that tier ends.
   */
  repeatsOwnTier?: boolean;
  /** What the entitlement's `source` says when this source's tier is the reason. */
  tierLabel: EntitlementSource;
  /** Active grants whose feature is in the catalog. */
  grants: Grant[];
  /** Every unrevoked grant (future and expired too), for when access ends. */
  allGrants: Grant[];
  /** The trial, when this is the identity's own license and a trial runs. */
  trial: Trial | null;
  baseTier: Tier | null;
}

/**
 * Effective entitlements (rules 2, S4 and O3): one entitlement per feature, from the identity's own effective
 * tier and active grants, the tiers its groups give, and, for each organization whose seat it holds and whose
 * license is ACTIVE, that organization's tier and active grants; nothing while the identity's license is
 * revoked. With `organizationId`, only the identity's own license (its groups' tiers included) and that
 * organization count.
 */
export function effectiveEntitlements(
  state: LicenseState,
  now: Date,
  organizationId: string | null = null,
): Entitlement[] {
  return computeEntitlements(state, now, organizationId, null);
}

/** The entitlement of `effectiveEntitlements` to one feature (undefined: not entitled), without the others'. */
export function effectiveEntitlement(
  state: LicenseState,
  now: Date,
  organizationId: string | null,
  featureKey: string,
): Entitlement | undefined {
  return computeEntitlements(state, now, organizationId, featureKey)[0];
}

/** Effective entitlements, all of them or (with `only`) the one to that feature. */
function computeEntitlements(
  state: LicenseState,
  now: Date,
  organizationId: string | null,
  only: string | null,
): Entitlement[] {
  const { license, catalog, defaultTier } = state;
  if (license.status === 'REVOKED') return [];
  const trial = isTrialActive(license.trial, now) ? license.trial : null;
  const own: Source = {
    organization: null,
    tier: resolveTier(catalog, effectiveTierKey(license, defaultTier, now)),
    tierLabel: trial ? 'TRIAL' : 'TIER',
    grants: activeGrants(state.grants, catalog, now),
    allGrants: state.grants,
    trial,
    baseTier: resolveTier(catalog, baseTierKey(license, defaultTier)),
  };
  const organizations = (state.organizations ?? []).filter(
    (organization) =>
      organization.license.status === 'ACTIVE' &&
      (organizationId === null || organization.license.organizationId === organizationId),
  );
  const usedByFeature = state.usedByFeature ?? NO_USAGE;
  const groups = groupTiersOf(state).map((tier): Source => ({
    organization: null,
    tier,
    repeatsOwnTier: tier.key === own.tier.key,
    tierLabel: 'TIER',
    grants: [],
    allGrants: [],
    trial: null,
    baseTier: null,
  }));
  const merged = merge(
    [own, ...groups, ...organizations.map((o) => organizationSource(o, catalog, now))],
    catalog,
    now,
    { usedByFeature },
    only,
  );
  const overrides = (state.overrides ?? []).filter(
    (override) => isOverrideActive(override, now) && (only === null || override.featureKey === only),
  );
  return overrides.length === 0 ? merged : applyOverrides(merged, overrides, catalog, usedByFeature);
}

/** The distinct tiers the identity's groups give, by key (the order between equal ranks). */
function groupTiersOf(state: LicenseState): Tier[] {
  const keys = [...new Set((state.groupTiers ?? []).map((entry) => entry.tierKey))].sort();
  return keys.map((key) => resolveTier(state.catalog, key));
}

/**
 * `User.tier`: the highest-ranked of the identity's own effective tier (rule 1) and the tiers its groups give
 * (rule S4); between equal ranks its own tier, then the group tier with the smallest key.
 */
export function effectiveTier(state: LicenseState, now: Date): Tier {
  const { license, catalog, defaultTier } = state;
  const own = resolveTier(catalog, effectiveTierKey(license, defaultTier, now));
  return groupTiersOf(state).reduce((best, tier) => (tier.rank > best.rank ? tier : best), own);
}

export function isOverrideActive(override: Override, now: Date): boolean {
  return (
    override.endedAt === null && (override.expiresAt === null || now.getTime() < override.expiresAt.getTime())
  );
}

/**
 * Rule V1: an active override is applied after every other source and wins. DENY removes the feature; LIMIT
 * (METERED) makes the limit exactly its limit and VALUE (CONFIG) the value its value, present even if nothing
 * else gives the feature. (An override whose feature changed kind since it was set is ignored.)
 */
function applyOverrides(
  entitlements: Entitlement[],
  overrides: Override[],
  catalog: Catalog,
  usedByFeature: ReadonlyMap<string, number>,
): Entitlement[] {
  const byFeature = new Map(overrides.map((override) => [override.featureKey, override]));
  const result: Entitlement[] = [];
  for (const entitlement of entitlements) {
    const override = byFeature.get(entitlement.feature.key);
    byFeature.delete(entitlement.feature.key);
    const applied = override
      ? overridden(entitlement.feature, entitlement, override, usedByFeature)
      : entitlement;
    if (applied) result.push(applied);
  }
  for (const override of byFeature.values()) {
    const feature = catalog.features.get(override.featureKey);
    const applied = feature ? overridden(feature, undefined, override, usedByFeature) : null;
    if (applied) result.push(applied);
  }
  return result.sort((a, b) => (a.feature.key < b.feature.key ? -1 : 1));
}

function overridden(
  feature: Feature,
  base: Entitlement | undefined,
  override: Override,
  usedByFeature: ReadonlyMap<string, number>,
): Entitlement | null {
  if (override.effect === 'DENY') return null;
  const fits =
    override.effect === 'LIMIT'
      ? feature.kind === 'METERED' && !isPooled(feature)
      : feature.kind === 'CONFIG';
  if (!fits) return base ?? null;
  const limit = override.effect === 'LIMIT' ? override.limit : null;
  const counted = override.effect === 'LIMIT' ? (usedByFeature.get(feature.key) ?? 0) : null;
  const end = override.expiresAt;
  return {
    feature,
    source: 'OVERRIDE',
    grants: base?.grants ?? [],
    organizations: base?.organizations ?? [],
    pools: [],
    override,
    limit,
    used: counted === null ? null : Math.min(counted, MAX_LIMIT),
    remaining: counted === null || limit === null ? null : Math.max(0, limit - counted),
    value: override.effect === 'VALUE' ? override.value : null,
    // When the override ends, whatever gave the feature before it goes on.
    expiresAt:
      end === null || (base && base.expiresAt === null)
        ? null
        : base && base.expiresAt!.getTime() > end.getTime()
          ? base.expiresAt
          : end,
  };
}

/** What one seat of an organization gives now (its tier and active grants); nothing while revoked. */
export function organizationEntitlements(
  organization: Omit<OrganizationState, 'seat'>,
  catalog: Catalog,
  now: Date,
): Entitlement[] {
  if (organization.license.status === 'REVOKED') return [];
  // Seen from the organization itself, its tier is just the tier.
  const source = { ...organizationSource(organization, catalog, now), tierLabel: 'TIER' as const };
  return merge([source], catalog, now, { usedByFeature: null });
}

function organizationSource(
  organization: Omit<OrganizationState, 'seat'>,
  catalog: Catalog,
  now: Date,
): Source {
  return {
    organization: organization as OrganizationState,
    tier: resolveTier(catalog, organization.license.tierKey),
    tierLabel: 'ORGANIZATION',
    grants: activeGrants(organization.grants, catalog, now),
    allGrants: organization.grants,
    trial: null,
    baseTier: null,
  };
}

function activeGrants(grants: Grant[], catalog: Catalog, now: Date): Grant[] {
  return grants.filter((grant) => isGrantActive(grant, now) && catalog.features.has(grant.featureKey));
}

/** A pooled meter counts in organizations' pools only: the identity's own tier and grants do not fill one. */
export function isPooled(feature: Feature): boolean {
  return feature.kind === 'METERED' && feature.meterScope === 'ORGANIZATION';
}

/**
 * Rule 2 over several sources. The first source is the identity's own license: an entitlement's `source` is
 * GRANT when one of its grants contributes, else its tier's label; without it, the label of the first source
 * that contributes (TIER for a group's tier, ORGANIZATION). METERED limits add up over every source (null if
 * any is unlimited); CONFIG takes the newest active grant of any source, else the value of the highest-ranked
 * contributing tier.
 */
function merge(
  sources: Source[],
  catalog: Catalog,
  now: Date,
  usage: { usedByFeature: ReadonlyMap<string, number> | null },
  only: string | null = null,
): Entitlement[] {
  const [primary] = sources;
  // This runs for every feature of every user read; hence loops over the sources rather than arrays of them.
  const grantsBySource = sources.map((source) => groupBy(source.grants, (grant) => grant.featureKey));
  const keys = new Set<string>();
  if (only !== null) {
    keys.add(only);
  } else {
    sources.forEach((source, i) => {
      for (const key of tierEntries(source.tier).keys()) keys.add(key);
      for (const key of grantsBySource[i].keys()) keys.add(key);
    });
  }

  const entitlements: Entitlement[] = [];
  for (const key of [...keys].sort()) {
    const feature = catalog.features.get(key) ?? firstTierEntry(sources, key)?.feature;
    if (!feature) continue;
    const pooled = isPooled(feature);
    // The sources that give the feature, each with its grants of it.
    const contributing: Source[] = [];
    const grantsOf: Grant[][] = [];
    sources.forEach((source, i) => {
      if (pooled && source.organization === null) return;
      const grants = grantsBySource[i].get(key);
      if (!grants && !tierEntries(source.tier).has(key)) return;
      contributing.push(source);
      grantsOf.push(grants ?? []);
    });
    if (contributing.length === 0) continue;

    const grants = newestFirst(grantsOf.length === 1 ? grantsOf[0] : grantsOf.flat());
    /** The limit the `i`th contributing source gives: its tier's and its grants', added up. */
    const limitOf = (i: number): number | null => {
      const entry = tierEntries(contributing[i].tier).get(key);
      let sum: number | null = entry ? entry.limit : 0;
      for (const grant of grantsOf[i]) sum = addLimit(sum, grant.limit);
      return capped(sum);
    };
    const pools: PoolMeter[] = pooled
      ? contributing.map((source, i) => ({
          organizationId: source.organization!.license.organizationId,
          limit: limitOf(i),
          used: source.organization!.usedByFeature.get(key) ?? 0,
        }))
      : [];

    let limit: number | null = null;
    let counted: number | null = null;
    let remaining: number | null = null;
    if (pooled) {
      limit = mergeLimits(pools.map((pool) => pool.limit));
      counted = pools.reduce((sum, pool) => sum + pool.used, 0);
      remaining =
        limit === null ? null : pools.reduce((sum, pool) => sum + Math.max(0, pool.limit! - pool.used), 0);
    } else if (feature.kind === 'METERED') {
      // A group's tier that repeats the identity's own counts once (see Source.repeatsOwnTier).
      let total: number | null = 0;
      for (let i = 0; i < contributing.length; i += 1) {
        if (!contributing[i].repeatsOwnTier) total = addLimit(total, limitOf(i));
      }
      limit = capped(total);
      counted = usage.usedByFeature === null ? null : (usage.usedByFeature.get(key) ?? 0);
      remaining = counted === null || limit === null ? null : Math.max(0, limit - counted);
    }

    const organizations: string[] = [];
    for (const source of contributing) {
      if (source.organization !== null) organizations.push(source.organization.license.organizationId);
    }
    entitlements.push({
      feature,
      // The identity's own license comes first, so it contributes when it is the first that does.
      source: contributing[0] === primary && grantsBySource[0].has(key) ? 'GRANT' : contributing[0].tierLabel,
      grants,
      organizations,
      pools,
      override: null,
      limit,
      // An unlimited meter may count past GraphQL's 32-bit Int; it shows the Int maximum from there on.
      used: counted === null ? null : Math.min(counted, MAX_LIMIT),
      remaining,
      value: feature.kind === 'CONFIG' ? configValue(grants, contributing, key) : null,
      expiresAt: accessEnd(contributing, key, now),
    });
  }
  return entitlements;
}

function firstTierEntry(sources: Source[], key: string): TierEntitlement | undefined {
  for (const source of sources) {
    const entry = tierEntries(source.tier).get(key);
    if (entry) return entry;
  }
  return undefined;
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
  /** The seats the identity holds, oldest first. */
  seats: Seat[];
  /** When the view was computed; usage meters are derived from it on demand (see usageMeters). */
  now: Date;
  /** What the view was computed from, for the entitlements as one organization sees them. */
  state: LicenseState;
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
    tier: effectiveTier(state, now),
    entitlements,
    seats: (state.organizations ?? []).map((organization) => organization.seat),
    now,
    state,
  };
}

const narrowedViews = new WeakMap<LicenseView, Map<string, Entitlement[]>>();

/** The view's entitlements, or those of the identity's own license and one organization (rule O3). */
export function entitlementsOf(view: LicenseView, organizationId: string | null | undefined): Entitlement[] {
  if (organizationId === null || organizationId === undefined) return view.entitlements;
  let byOrganization = narrowedViews.get(view);
  if (!byOrganization) narrowedViews.set(view, (byOrganization = new Map()));
  let entitlements = byOrganization.get(organizationId);
  if (!entitlements) {
    entitlements = effectiveEntitlements(view.state, view.now, organizationId);
    byOrganization.set(organizationId, entitlements);
  }
  return entitlements;
}

/** The view's entitlement to one feature (undefined: not entitled), as one organization sees it when given. */
export function entitlementIn(
  view: LicenseView,
  featureKey: string,
  organizationId: string | null,
): Entitlement | undefined {
  return entitlementsOf(view, organizationId).find((entitlement) => entitlement.feature.key === featureKey);
}

/** `hasEntitlement`: entitled now and, for a metered feature, not exhausted in the current period. */
export function allowsUse(entitlement: Entitlement | undefined): boolean {
  if (!entitlement) return false;
  return (
    entitlement.feature.kind !== 'METERED' || entitlement.remaining === null || entitlement.remaining > 0
  );
}

/**
 * One meter per metered feature the identity is entitled to, in the feature's current period; a pooled
 * feature has one per organization pool the identity may draw on.
 */
export function usageMeters(entitlements: Entitlement[], now: Date): UsageMeter[] {
  return entitlements
    .filter((entitlement) => entitlement.feature.kind === 'METERED')
    .flatMap((entitlement) => {
      const window = periodWindow(entitlement.feature.usagePeriod, now);
      const meter = (organizationId: string | null, used: number, limit: number | null) => ({
        feature: entitlement.feature,
        organizationId,
        used: Math.min(used, MAX_LIMIT),
        limit,
        remaining: limit === null ? null : Math.max(0, limit - used),
        periodStart: window.start,
        periodEnd: window.end,
      });
      return isPooled(entitlement.feature)
        ? entitlement.pools.map((pool) => meter(pool.organizationId, pool.used, pool.limit))
        : [meter(null, entitlement.used ?? 0, entitlement.limit)];
    });
}

/** METERED limits add up; one unlimited (null) source makes the whole entitlement unlimited. */
export function mergeLimits(limits: (number | null)[]): number | null {
  return capped(limits.reduce(addLimit, 0));
}

/** Two limits added up (null: unlimited), for sums built in loops on the hot path; `capped` ends them. */
function addLimit(sum: number | null, limit: number | null): number | null {
  return sum === null || limit === null ? null : sum + limit;
}

function capped(sum: number | null): number | null {
  return sum === null ? null : Math.min(MAX_LIMIT, sum);
}

/** CONFIG: the newest active grant that sets a value wins, else the highest-ranked contributing tier's value. */
function configValue(grantsNewestFirst: Grant[], contributing: Source[], key: string): JsonValue {
  const fromGrant = grantsNewestFirst.find((grant) => grant.value !== null && grant.value !== undefined);
  if (fromGrant) return fromGrant.value;
  let best: { rank: number; value: JsonValue } | null = null;
  for (const source of contributing) {
    const entry = tierEntries(source.tier).get(key);
    // Strictly higher: between equal ranks the earlier source (the identity's own license) wins.
    if (entry && (best === null || source.tier.rank > best.rank))
      best = { rank: source.tier.rank, value: entry.value };
  }
  return best?.value ?? null;
}

const NO_USAGE: ReadonlyMap<string, number> = new Map();

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
 * When access to `featureKey` ends if nothing changes: the end of the unbroken run of sources covering
 * `now` (the trial's tier, then the base tier; an organization's tier; every grant, including ones that
 * start later).
 */
function accessEnd(sources: Source[], featureKey: string, now: Date): Date | null {
  const intervals: Interval[] = [];
  for (const source of sources) {
    const gives = (tier: Tier | null) => tier !== null && tierEntries(tier).has(featureKey);
    if (source.trial) {
      if (gives(source.tier)) intervals.push({ start: now, end: source.trial.endsAt });
      if (gives(source.baseTier)) intervals.push({ start: source.trial.endsAt, end: null });
    } else if (gives(source.tier)) {
      // The common case: a tier covers it from now on, with no end, whatever else does.
      return null;
    }
    for (const grant of source.allGrants) {
      if (grant.featureKey === featureKey && grant.revokedAt === null) {
        intervals.push({ start: grant.startsAt, end: grant.expiresAt });
      }
    }
  }
  return coverageEnd(now, intervals);
}

/** The end of the union of `intervals` that is contiguous from `now`; null when it never ends. */
export function coverageEnd(now: Date, intervals: Interval[]): Date | null {
  let end = now;
  for (;;) {
    const t = end.getTime();
    let furthest = -Infinity;
    for (const interval of intervals) {
      // Written so that an invalid date (NaN) covers nothing, as `<=` on Dates did.
      if (!(interval.start.getTime() <= t)) continue;
      if (interval.end === null) return null;
      if (interval.end.getTime() > t) furthest = Math.max(furthest, interval.end.getTime());
    }
    if (furthest === -Infinity) return end;
    end = new Date(furthest);
  }
}
