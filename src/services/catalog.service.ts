import type { EntityManager } from 'typeorm';

import { assertAuthenticated, assertScope } from '../auth/access';
import { Scope } from '../auth/caller';
import type { Caller } from '../auth/caller';
import { bumpCatalogVersion, readCatalogVersion } from '../db/catalog-version';
import type { Database } from '../db/database';
import { FeatureRow, TierEntitlementRow, TierRow } from '../db/entities';
import { toFeature, toTier, toTierEntitlementRow } from '../db/mappers';
import {
  checkFitsKind,
  checkJsonValue,
  checkKey,
  checkLimit,
  checkRequiredText,
  checkText,
} from '../domain/validation';
import type { Catalog, Feature, FeatureKind, JsonValue, Tier, UsagePeriod } from '../domain/types';
import { BadUserInputError, NotFoundError } from '../errors';

export interface FeatureInput {
  key: string;
  kind: FeatureKind;
  description?: string | null;
  usagePeriod?: UsagePeriod | null;
}

export interface TierInput {
  key: string;
  name: string;
  rank: number;
  entitlements: { feature: string; limit?: number | null; value?: JsonValue }[];
}

const MAX_TIER_NAME_LENGTH = 200;

/**
 * Features and tiers: what can be entitled, and what each tier includes. The catalog is small and every
 * license read needs it, so each replica keeps the last one it read, with the version it was read at; a
 * read checks the version row (one primary-key lookup) and reads the three tables only after a change.
 */
export class CatalogService {
  private cached: { version: string; catalog: Promise<Catalog>; ready: boolean } | null = null;

  constructor(private readonly db: Database) {}

  async load(caller: Caller): Promise<Catalog> {
    assertAuthenticated(caller);
    return this.snapshot();
  }

  /** The current catalog without an access check, for delivery, which has checked each subscriber already. */
  async snapshot(): Promise<Catalog> {
    return this.atVersion(this.db.manager, await readCatalogVersion(this.db.manager));
  }

  /**
   * The catalog as of `version` (read with the caller's own statements): the cached one unless it changed.
   * A miss reads through `manager`, the caller's own connection: a transaction may hold a lock, and must
   * never wait for another connection from the pool (the callers queued on its lock may hold them all),
   * so it does not wait for a read in progress elsewhere either.
   */
  atVersion(manager: EntityManager, version: string): Promise<Catalog> {
    const cached = this.cached;
    if (cached?.version === version && (cached.ready || !manager.queryRunner?.isTransactionActive)) {
      return cached.catalog;
    }
    // A change committed after the version was read is caught by the next read's check.
    const entry = { version, catalog: this.read(manager), ready: false };
    this.cached = entry;
    entry.catalog.then(
      () => (entry.ready = true),
      () => {
        if (this.cached === entry) this.cached = null;
      },
    );
    return entry.catalog;
  }

  private async read(manager: EntityManager): Promise<Catalog> {
    const [featureRows, tierRows, entryRows] = await Promise.all([
      manager.find(FeatureRow, { order: { key: 'ASC' } }),
      manager.find(TierRow, { order: { rank: 'ASC', key: 'ASC' } }),
      manager.find(TierEntitlementRow, { order: { featureKey: 'ASC' } }),
    ]);
    const features = new Map(featureRows.map((row) => [row.key, toFeature(row)]));
    const tiers = new Map(
      tierRows.map((row) => [
        row.key,
        toTier(
          row,
          entryRows.filter((e) => e.tierKey === row.key),
          features,
        ),
      ]),
    );
    return { features, tiers };
  }

  async upsertFeature(caller: Caller, input: FeatureInput): Promise<Feature> {
    assertScope(caller, Scope.write);
    const feature: Feature = {
      key: checkKey(input.key, 'key'),
      kind: input.kind,
      description: checkText(input.description, 'description'),
      usagePeriod: input.usagePeriod ?? 'MONTH',
    };
    await this.db.transaction(async (manager) => {
      const now = new Date();
      await bumpCatalogVersion(manager);
      await manager
        .createQueryBuilder()
        .insert()
        .into(FeatureRow)
        .values({ ...feature, createdAt: now, updatedAt: now })
        .orIgnore()
        .execute();
      await manager.update(FeatureRow, { key: feature.key }, { ...feature, updatedAt: now });
    });
    return feature;
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
      const features = new Map(
        (await manager.findBy(FeatureRow, {})).map((row) => [row.key, toFeature(row)] as const),
      );
      entries.forEach((entry, index) => {
        const feature = features.get(entry.featureKey);
        if (!feature) throw new NotFoundError('Feature', entry.featureKey);
        checkFitsKind(feature, entry, `entitlements[${index}]`);
      });

      const now = new Date();
      const tier = { key, name, rank: input.rank };
      await manager
        .createQueryBuilder()
        .insert()
        .into(TierRow)
        .values({ ...tier, createdAt: now, updatedAt: now })
        .orIgnore()
        .execute();
      await manager.update(TierRow, { key }, { ...tier, updatedAt: now });
      await manager.delete(TierEntitlementRow, { tierKey: key });
      if (entries.length > 0) await manager.insert(TierEntitlementRow, entries.map(toTierEntitlementRow));

      const [row, stored] = await Promise.all([
        manager.findOneByOrFail(TierRow, { key }),
        manager.findBy(TierEntitlementRow, { tierKey: key }),
      ]);
      return toTier(row, stored, features);
    });
  }
}
