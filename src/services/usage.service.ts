import type { EntityManager } from 'typeorm';
import { IsNull } from 'typeorm';

import { assertAnyScope } from '../auth/access';
import type { Caller } from '../auth/caller';
import { actorOf, Scope } from '../auth/caller';
import type { Database } from '../db/database';
import { UsageCounterRow } from '../db/entities';
import type { LicenseStore } from '../db/license-store';
import { statement } from '../db/raw-sql';
import { effectiveEntitlements } from '../domain/effective';
import { periodWindow } from '../domain/periods';
import type { Catalog, Feature, UsageMeter } from '../domain/types';
import { fitsLimit, meterAfterUse } from '../domain/usage';
import { checkAmount, checkIdempotencyKey, checkKey, checkUserId } from '../domain/validation';
import { BadUserInputError, NotFoundError } from '../errors';
import type { IdempotencyStore } from './idempotency';
import type { LicenseEventLog } from './license-event.service';

export interface RecordUsageInput {
  userId: string;
  feature: string;
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
    const key = checkIdempotencyKey(input.idempotencyKey);

    // Five round trips on MySQL: BEGIN, the lock, one batch of reads, the add, COMMIT.
    return this.db.transaction(async (manager) => {
      const idempotent = key
        ? await this.idempotency.start(manager, { caller: actorOf(caller), operation: 'recordUsage' }, key, {
            userId,
            feature: featureKey,
            amount,
          })
        : null;
      if (idempotent?.replayed) return reviveUsageResult(idempotent.response);

      const now = new Date();
      await this.store.hold(manager, userId, now);
      const state = (await this.store.states(manager, [userId], now)).get(userId)!;
      const feature = meteredFeature(state.catalog, featureKey);
      const entitlement = effectiveEntitlements(state, now).find((e) => e.feature.key === featureKey);
      const counter = { userId, featureKey, periodStart: periodWindow(feature.usagePeriod, now).start };
      // Read under the license lock, which every add for this user holds: it cannot move before the commit.
      const usedBefore = state.usedByFeature?.get(featureKey);

      const allowed =
        entitlement !== undefined &&
        fitsLimit(usedBefore ?? 0, amount, entitlement.limit) &&
        (await this.add(manager, counter, amount, entitlement.limit, usedBefore !== undefined, now));
      const used = (usedBefore ?? 0) + (allowed ? amount : 0);
      if (allowed && entitlement.limit !== null && used >= entitlement.limit) {
        await this.markLimitReached(manager, counter, caller, now);
      }

      const result: UsageResult = { allowed, meter: meterAfterUse(feature, entitlement, used, now) };
      await idempotent?.complete(JSON.stringify(result));
      return result;
    });
  }

  /**
   * Adds `amount` to the period's counter, creating it on first use. The UPDATE keeps its own limit check,
   * so the statement alone can never take a counter past its limit.
   */
  private async add(
    manager: EntityManager,
    counter: CounterKey,
    amount: number,
    limit: number | null,
    exists: boolean,
    now: Date,
  ): Promise<boolean> {
    if (!exists) {
      await manager.insert(UsageCounterRow, {
        ...counter,
        used: amount,
        limitReachedAt: null,
        updatedAt: now,
      });
      return true;
    }
    const { sql, parameters } = statement(
      manager,
      `UPDATE usage_counters SET used = used + :amount, updated_at = :now
       WHERE user_id = :userId AND feature_key = :featureKey AND period_start = :periodStart
       ${limit === null ? '' : 'AND used + :amount <= :limit'}`,
      { ...counter, amount, limit, now },
    );
    const { affected } = await manager.queryRunner!.query(sql, parameters, true);
    return affected === 1;
  }

  /** USAGE_LIMIT_REACHED once per meter and period: only the call that sets the mark records it. */
  private async markLimitReached(
    manager: EntityManager,
    counter: CounterKey,
    caller: Caller,
    now: Date,
  ): Promise<void> {
    const marked = await manager.update(
      UsageCounterRow,
      { ...counter, limitReachedAt: IsNull() },
      { limitReachedAt: now },
    );
    if (marked.affected === 1) {
      await this.events.record(
        manager,
        {
          type: 'USAGE_LIMIT_REACHED',
          userId: counter.userId,
          featureKey: counter.featureKey,
          actor: actorOf(caller),
        },
        now,
      );
    }
  }
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

interface CounterKey {
  userId: string;
  featureKey: string;
  periodStart: Date;
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
