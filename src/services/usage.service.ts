import type { EntityManager } from 'typeorm';
import { IsNull } from 'typeorm';

import { assertAnyScope } from '../auth/access';
import type { Caller } from '../auth/caller';
import { actorOf, Scope } from '../auth/caller';
import type { Database } from '../db/database';
import { OrganizationUsageCounterRow, UsageAlertRow, UsageCounterRow } from '../db/entities';
import type { LicenseStore } from '../db/license-store';
import { statement } from '../db/raw-sql';
import type { LicenseState } from '../domain/effective';
import { effectiveEntitlements, isPooled } from '../domain/effective';
import { periodWindow } from '../domain/periods';
import type { Catalog, Entitlement, Feature, PoolMeter, UsageMeter } from '../domain/types';
import { choosePool, crossedThresholds, fitsLimit, meterAfterUse } from '../domain/usage';
import {
  checkAmount,
  checkIdempotencyKey,
  checkKey,
  checkOrganizationId,
  checkUserId,
} from '../domain/validation';
import { BadUserInputError, NotFoundError } from '../errors';
import type { IdempotencyStore } from './idempotency';
import type { LicenseEventLog, NewLicenseEvent } from './license-event.service';

export interface RecordUsageInput {
  userId: string;
  feature: string;
  /** Which organization's pool a pooled feature counts in (needed when several qualify). */
  organizationId?: string | null;
  amount?: number | null;
  idempotencyKey?: string | null;
}

export interface UsageResult {
  allowed: boolean;
  meter: UsageMeter;
}

/**
 * Metering. A call is allowed only if its amount fits the limit in force: the add is one conditional
 * UPDATE, inside a transaction that holds the user's license lock, so grants, revocations and tier
 * changes (which take the same lock) cannot move the limit between the decision and the commit.
 */
export class UsageService {
  constructor(
    private readonly db: Database,
    private readonly store: LicenseStore,
    private readonly events: LicenseEventLog,
    private readonly idempotency: IdempotencyStore,
  ) {}

  async recordUsage(caller: Caller, input: RecordUsageInput): Promise<UsageResult> {
    assertAnyScope(caller, [Scope.usageWrite, Scope.write]);
    const userId = checkUserId(input.userId);
    const featureKey = checkKey(input.feature, 'feature');
    const amount = checkAmount(input.amount ?? 1);
    const organizationId =
      input.organizationId === null || input.organizationId === undefined
        ? null
        : checkOrganizationId(input.organizationId);
    const key = checkIdempotencyKey(input.idempotencyKey);

    // Five round trips on MySQL for a personal meter: BEGIN, the lock, one batch of reads, the add, COMMIT.
    return this.db.transaction(async (manager) => {
      const idempotent = key
        ? await this.idempotency.start(manager, { caller: actorOf(caller), operation: 'recordUsage' }, key, {
            userId,
            feature: featureKey,
            amount,
            ...(organizationId === null ? {} : { organizationId }),
          })
        : null;
      if (idempotent?.replayed) return reviveUsageResult(idempotent.response);

      const now = new Date();
      await this.store.hold(manager, userId, now);
      const state = (await this.store.states(manager, [userId], now)).get(userId)!;
      const feature = meteredFeature(state.catalog, featureKey);
      const use = { caller, feature, amount, now };
      const result = isPooled(feature)
        ? await this.drawFromPool(
            manager,
            use,
            choosePool(entitlementOf(state, now, null, featureKey), organizationId),
          )
        : await this.countForUser(manager, use, state, entitlementOf(state, now, organizationId, featureKey));
      await idempotent?.complete(JSON.stringify(result));
      return result;
    });
  }

  /** A personal meter, counted under the user's license lock, which every add for this user holds. */
  private async countForUser(
    manager: EntityManager,
    use: Use,
    state: LicenseState,
    entitlement: Entitlement | undefined,
  ): Promise<UsageResult> {
    const { feature, amount, now } = use;
    const counter = {
      table: UsageCounterRow,
      key: {
        userId: state.license.userId,
        featureKey: feature.key,
        periodStart: periodWindow(feature.usagePeriod, now).start,
      },
    };
    // Read under the license lock: it cannot move before the commit.
    const usedBefore = state.usedByFeature?.get(feature.key);
    const allowed =
      entitlement !== undefined &&
      fitsLimit(usedBefore ?? 0, amount, entitlement.limit) &&
      (await this.add(manager, counter, amount, entitlement.limit, usedBefore !== undefined, now));
    const used = (usedBefore ?? 0) + (allowed ? amount : 0);
    if (allowed) {
      await this.recordCrossings(
        manager,
        counter,
        { userId: state.license.userId },
        use,
        entitlement.limit,
        usedBefore ?? 0,
      );
    }
    return { allowed, meter: meterAfterUse(feature, entitlement?.limit, used, now) };
  }

  /**
   * A pooled meter (rule O4). Its members hold different license locks, so the pool's own row is the lock:
   * created if missing, then read with FOR UPDATE (the latest count, not the snapshot) and changed under it.
   */
  private async drawFromPool(manager: EntityManager, use: Use, pool: PoolMeter | null): Promise<UsageResult> {
    const { feature, amount, now } = use;
    if (pool === null) return { allowed: false, meter: meterAfterUse(feature, undefined, 0, now) };
    const { organizationId } = pool;
    const counter = {
      table: OrganizationUsageCounterRow,
      key: {
        organizationId,
        featureKey: feature.key,
        periodStart: periodWindow(feature.usagePeriod, now).start,
      },
    };
    await manager
      .createQueryBuilder()
      .insert()
      .into(OrganizationUsageCounterRow)
      .values({ ...counter.key, used: 0, limitReachedAt: null, updatedAt: now })
      .orUpdate(['organization_id'], ['organization_id', 'feature_key', 'period_start'])
      .execute();
    const { sql, parameters } = statement(
      manager,
      `SELECT used FROM organization_usage_counters
       WHERE organization_id = :organizationId AND feature_key = :featureKey AND period_start = :periodStart${this.db.forUpdateClause}`,
      counter.key,
    );
    const [{ used: stored }] = (await manager.query(sql, parameters)) as { used: string | number }[];
    const usedBefore = Number(stored);
    const allowed =
      fitsLimit(usedBefore, amount, pool.limit) &&
      (await this.add(manager, counter, amount, pool.limit, true, now));
    const used = usedBefore + (allowed ? amount : 0);
    if (allowed)
      await this.recordCrossings(manager, counter, { organizationId }, use, pool.limit, usedBefore);
    return { allowed, meter: meterAfterUse(feature, pool.limit, used, now, organizationId) };
  }

  /**
   * Adds `amount` to the period's counter, creating it on first use. The UPDATE keeps its own limit check,
   * so the statement alone can never take a counter past its limit.
   */
  private async add(
    manager: EntityManager,
    counter: Counter,
    amount: number,
    limit: number | null,
    exists: boolean,
    now: Date,
  ): Promise<boolean> {
    if (!exists) {
      await manager.insert(counter.table, {
        ...counter.key,
        used: amount,
        limitReachedAt: null,
        updatedAt: now,
      });
      return true;
    }
    const { sql, parameters } = statement(
      manager,
      `UPDATE ${counterWhere(manager, counter)} ${limit === null ? '' : 'AND used + :amount <= :limit'}`,
      { ...counter.key, amount, limit, now },
    );
    const { affected } = await manager.queryRunner!.query(sql, parameters, true);
    return affected === 1;
  }

  /**
   * What an allowed use crossed, recorded in its transaction: USAGE_THRESHOLD_REACHED for each alert
   * threshold (rule A1) and USAGE_LIMIT_REACHED at the limit. Each at most once per meter, period and
   * threshold, however many calls race: the meter's lock (the user's license, or the pool's row) is held, and
   * the stored mark (usage_alerts, limit_reached_at) outlives a limit that moves within the period. A pool's
   * events are the organization's (no user).
   */
  private async recordCrossings(
    manager: EntityManager,
    counter: Counter,
    owner: Pick<NewLicenseEvent, 'userId' | 'organizationId'>,
    { caller, feature, amount, now }: Use,
    limit: number | null,
    usedBefore: number,
  ): Promise<void> {
    const usedAfter = usedBefore + amount;
    const alert = {
      ownerKind: owner.organizationId ? ('ORGANIZATION' as const) : ('USER' as const),
      ownerId: (owner.organizationId ?? owner.userId)!,
      featureKey: feature.key,
      periodStart: counter.key.periodStart,
    };
    for (const threshold of crossedThresholds(feature.alertThresholds, limit, usedBefore, usedAfter)) {
      if (!(await storeAlertMark(manager, { ...alert, threshold, reachedAt: now }))) continue;
      await this.events.record(
        manager,
        {
          type: 'USAGE_THRESHOLD_REACHED',
          ...owner,
          featureKey: feature.key,
          threshold,
          actor: actorOf(caller),
        },
        now,
      );
    }
    if (limit !== null && usedAfter >= limit)
      await this.markLimitReached(manager, counter, owner, caller, now);
  }

  /** USAGE_LIMIT_REACHED once per meter and period: only the call that sets the mark records it. */
  private async markLimitReached(
    manager: EntityManager,
    counter: Counter,
    owner: Pick<NewLicenseEvent, 'userId' | 'organizationId'>,
    caller: Caller,
    now: Date,
  ): Promise<void> {
    const marked = await manager.update(
      counter.table,
      { ...counter.key, limitReachedAt: IsNull() },
      { limitReachedAt: now },
    );
    if (marked.affected === 1) {
      await this.events.record(
        manager,
        { type: 'USAGE_LIMIT_REACHED', ...owner, featureKey: counter.key.featureKey, actor: actorOf(caller) },
        now,
      );
    }
  }
}

interface Use {
  caller: Caller;
  feature: Feature;
  amount: number;
  now: Date;
}

/** A usage counter: a user's (usage_counters) or an organization's pool (organization_usage_counters). */
type Counter =
  | { table: typeof UsageCounterRow; key: { userId: string; featureKey: string; periodStart: Date } }
  | {
      table: typeof OrganizationUsageCounterRow;
      key: { organizationId: string; featureKey: string; periodStart: Date };
    };

const counterSql = new WeakMap<object, string>();

/** `<table> SET used = used + :amount ... WHERE <key columns>` of a counter's table, worked out once per table. */
function counterWhere(manager: EntityManager, counter: Counter): string {
  let sql = counterSql.get(counter.table);
  if (!sql) {
    const metadata = manager.connection.getMetadata(counter.table);
    const where = Object.keys(counter.key)
      .map((property) => `${metadata.findColumnWithPropertyName(property)!.databaseName} = :${property}`)
      .join(' AND ');
    sql = `${metadata.tableName} SET used = used + :amount, updated_at = :now WHERE ${where}`;
    counterSql.set(counter.table, sql);
  }
  return sql;
}

/**
 * Stores an alert's mark unless it is stored already; true when this call stored it. Not a plain read first:
 * a pool's state (and so a transaction's snapshot) is read before the pool's row is locked, so a mark another
 * member's call stored in the meantime, under a limit since raised, is only seen by a write.
 */
async function storeAlertMark(manager: EntityManager, mark: UsageAlertRow): Promise<boolean> {
  const [sql, parameters] = manager
    .createQueryBuilder()
    .insert()
    .into(UsageAlertRow)
    .values(mark)
    .orIgnore()
    .getQueryAndParameters();
  const { affected } = await manager.queryRunner!.query(sql, parameters, true);
  return affected === 1;
}

function entitlementOf(
  state: LicenseState,
  now: Date,
  organizationId: string | null,
  featureKey: string,
): Entitlement | undefined {
  return effectiveEntitlements(state, now, organizationId).find((e) => e.feature.key === featureKey);
}

function meteredFeature(catalog: Catalog, featureKey: string): Feature {
  const feature = catalog.features.get(featureKey);
  if (!feature) throw new NotFoundError('Feature', featureKey);
  if (feature.kind !== 'METERED') {
    throw new BadUserInputError(
      'feature',
      `"${featureKey}" is a ${feature.kind} feature; only METERED features are metered`,
    );
  }
  return feature;
}

function reviveUsageResult(json: string): UsageResult {
  const result = JSON.parse(json) as UsageResult;
  const meter = result.meter as UsageMeter & { periodStart: string; periodEnd: string | null };
  return {
    allowed: result.allowed,
    meter: {
      ...meter,
      periodStart: new Date(meter.periodStart),
      periodEnd: meter.periodEnd === null ? null : new Date(meter.periodEnd),
    },
  };
}
