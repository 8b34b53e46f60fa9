import { stringify } from 'safe-stable-stringify';
import type { EntityManager } from 'typeorm';

import { assertAuthenticated, assertScope } from '../auth/access';
import type { Caller } from '../auth/caller';
import { actorOf, Scope } from '../auth/caller';
import type { CatalogStore } from '../db/catalog-store';
import { bumpCatalogVersion } from '../db/catalog-store';
import type { Database } from '../db/database';
import type { CatalogEntity } from '../db/entities';
import {
  CatalogChangeRow,
  FeatureRow,
  GrantRow,
  OrganizationUsageCounterRow,
  OverrideRow,
  TierEntitlementRow,
  TierRow,
  UsageCounterRow,
} from '../db/entities';
import { toFeature, toTier, toTierEntitlementRow } from '../db/mappers';
import type {
  Catalog,
  Feature,
  FeatureKind,
  JsonValue,
  MeterScope,
  Tier,
  UsagePeriod,
} from '../domain/types';
import {
  checkAlertThresholds,
  checkAlertThresholdsFit,
  checkFitsKind,
  checkJsonValue,
  checkKey,
  checkLimit,
  checkMeterScope,
  checkRequiredText,
  checkText,
} from '../domain/validation';
import { BadUserInputError, NotFoundError } from '../errors';

export interface FeatureInput {
  key: string;
  kind: FeatureKind;
  /** Omitted: unchanged; null: none. */
  description?: string | null;
  /** Omitted or null: unchanged (MONTH for a new feature). */
  usagePeriod?: UsagePeriod | null;
  meterScope?: MeterScope | null;
  alertThresholds?: number[] | null;
}

export interface TierInput {
  key: string;
  name: string;
  rank: number;
  entitlements: { feature: string; limit?: number | null; value?: JsonValue }[];
}

const MAX_TIER_NAME_LENGTH = 200;

/**
 * Features and tiers: what can be entitled, and what each tier includes. Reads go through the replica's
 * cached copy (CatalogStore); every change bumps the catalog version in its transaction.
 */
export class CatalogService {
  constructor(
    private readonly db: Database,
    private readonly store: CatalogStore,
  ) {}

  async load(caller: Caller): Promise<Catalog> {
    assertAuthenticated(caller);
    return this.store.current();
  }

  /**
   * Creates a feature, or changes it: an omitted description, usage period, meter scope or alert thresholds
   * keep the stored ones (a new feature counts MONTH, per user, without alerts). The kind says what limits, values and counters mean, so it changes only while
   * no tier, grant or usage counter refers to the feature.
   */
  async upsertFeature(caller: Caller, input: FeatureInput): Promise<Feature> {
    assertScope(caller, Scope.write);
    const key = checkKey(input.key, 'key');
    const description =
      input.description === undefined ? undefined : checkText(input.description, 'description');
    const alertThresholds =
      input.alertThresholds === undefined || input.alertThresholds === null
        ? null
        : checkAlertThresholds(input.alertThresholds);
    return this.db.transaction(async (manager) => {
      // First: catalog changes then run one at a time, and what is read below stays so until the commit.
      await bumpCatalogVersion(manager);
      const stored = await manager.findOne(FeatureRow, { where: { key }, lock: this.db.writeLock });
      const before = stored ? toFeature(stored) : null;
      const feature: Feature = {
        key,
        kind: input.kind,
        description: description === undefined ? (before?.description ?? null) : description,
        usagePeriod: input.usagePeriod ?? before?.usagePeriod ?? 'MONTH',
        meterScope: input.meterScope ?? before?.meterScope ?? 'USER',
        alertThresholds: alertThresholds ?? before?.alertThresholds ?? [],
      };
      checkMeterScope(feature);
      checkAlertThresholdsFit(feature);
      if (before && before.kind !== feature.kind) await assertKindCanChange(manager, before, feature.kind);
      if (before && before.meterScope !== feature.meterScope) {
        await assertScopeCanChange(manager, before, feature.meterScope);
      }
      const now = new Date();
      if (before) await manager.update(FeatureRow, { key }, { ...feature, updatedAt: now });
      else await manager.insert(FeatureRow, { ...feature, createdAt: now, updatedAt: now });
      await recordChange(
        manager,
        { entity: 'FEATURE', key, actor: actorOf(caller), before, after: feature },
        now,
      );
      return feature;
    });
  }

  /** Creates or replaces a tier with exactly the given entitlements. */
  async upsertTier(caller: Caller, input: TierInput): Promise<Tier> {
    assertScope(caller, Scope.write);
    const name = checkRequiredText(input.name, 'name', MAX_TIER_NAME_LENGTH);
    const key = checkKey(input.key, 'key');
    const seen = new Set<string>();
    const entries = input.entitlements.map((entry, index) => {
      const field = (name: string) => `entitlements[${index}].${name}`;
      const featureKey = checkKey(entry.feature, field('feature'));
      if (seen.has(featureKey))
        throw new BadUserInputError(field('feature'), `feature "${featureKey}" is listed twice`);
      seen.add(featureKey);
      return {
        tierKey: key,
        featureKey,
        limit: checkLimit(entry.limit, field('limit')),
        value: checkJsonValue(entry.value, field('value')),
      };
    });

    return this.db.transaction(async (manager) => {
      await bumpCatalogVersion(manager);
      const [featureRows, storedTier, storedEntries] = await Promise.all([
        manager.findBy(FeatureRow, {}),
        manager.findOneBy(TierRow, { key }),
        manager.find(TierEntitlementRow, { where: { tierKey: key }, order: { featureKey: 'ASC' } }),
      ]);
      const features = new Map(featureRows.map((row) => [row.key, toFeature(row)] as const));
      entries.forEach((entry, index) => {
        const feature = features.get(entry.featureKey);
        if (!feature) throw new NotFoundError('Feature', entry.featureKey);
        checkFitsKind(feature, entry, `entitlements[${index}]`);
      });

      const now = new Date();
      const tierRow = {
        key,
        name,
        rank: input.rank,
        createdAt: storedTier?.createdAt ?? now,
        updatedAt: now,
      };
      if (storedTier) await manager.update(TierRow, { key }, tierRow);
      else await manager.insert(TierRow, tierRow);
      await manager.delete(TierEntitlementRow, { tierKey: key });
      const rows = entries.map(toTierEntitlementRow).sort((a, b) => (a.featureKey < b.featureKey ? -1 : 1));
      if (rows.length > 0) await manager.insert(TierEntitlementRow, rows);

      const tier = toTier(tierRow, rows, features);
      const before = storedTier ? auditedTier(toTier(storedTier, storedEntries, features)) : null;
      await recordChange(
        manager,
        { entity: 'TIER', key, actor: actorOf(caller), before, after: auditedTier(tier) },
        now,
      );
      return tier;
    });
  }
}

/** Refuses to change the kind of a feature that tiers, grants or overrides (even ended ones) or usage counters refer to. */
async function assertKindCanChange(
  manager: EntityManager,
  feature: Feature,
  kind: FeatureKind,
): Promise<void> {
  const where = { featureKey: feature.key };
  const [tiers, grants, overrides, counters] = await Promise.all([
    manager.existsBy(TierEntitlementRow, where),
    manager.existsBy(GrantRow, where),
    manager.existsBy(OverrideRow, where),
    manager.existsBy(UsageCounterRow, where),
  ]);
  const users = [
    tiers && 'tiers',
    grants && 'grants',
    overrides && 'overrides',
    counters && 'usage counters',
  ].filter(Boolean);
  if (users.length > 0) {
    throw new BadUserInputError(
      'kind',
      `the kind of "${feature.key}" cannot change from ${feature.kind} to ${kind} while ${users.join(', ')} use it`,
    );
  }
}

/** Refuses to move a feature's counting between users and pools while any usage is counted for it. */
async function assertScopeCanChange(
  manager: EntityManager,
  feature: Feature,
  meterScope: MeterScope,
): Promise<void> {
  const where = { featureKey: feature.key };
  const counted =
    (await manager.existsBy(UsageCounterRow, where)) ||
    (await manager.existsBy(OrganizationUsageCounterRow, where));
  if (counted) {
    throw new BadUserInputError(
      'meterScope',
      `the meter scope of "${feature.key}" cannot change from ${feature.meterScope} to ${meterScope} while usage is counted for it`,
    );
  }
}

/** The catalog's audit trail: the entry as it was and as it became; a change that changed nothing is not one. */
async function recordChange(
  manager: EntityManager,
  change: { entity: CatalogEntity; key: string; actor: string; before: object | null; after: object },
  now: Date,
): Promise<void> {
  if (change.before !== null && stringify(change.before) === stringify(change.after)) return;
  await manager.insert(CatalogChangeRow, {
    entity: change.entity,
    entityKey: change.key,
    actor: change.actor,
    before: change.before,
    after: change.after,
    occurredAt: now,
  });
}

/** A tier as its audit records it: entitlements by feature key. */
function auditedTier(tier: Tier) {
  return {
    key: tier.key,
    name: tier.name,
    rank: tier.rank,
    entitlements: tier.entitlements.map(({ feature, limit, value }) => ({
      feature: feature.key,
      limit,
      value,
    })),
  };
}
