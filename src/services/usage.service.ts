import { IsNull } from 'typeorm';
import type { EntityManager } from 'typeorm';

import { assertAnyScope } from '../auth/access';
import { actorOf, Scope } from '../auth/caller';
import type { Caller } from '../auth/caller';
import type { Database } from '../db/database';
import { UsageCounterRow } from '../db/entities';
import { effectiveEntitlements } from '../domain/effective';
import { periodWindow } from '../domain/periods';
import type { UsageMeter } from '../domain/types';
import { meterAfterUse } from '../domain/usage';
import { checkAmount, checkIdempotencyKey, checkKey, checkUserId } from '../domain/validation';
import { BadUserInputError, NotFoundError } from '../errors';
import type { CatalogService } from './catalog.service';
import type { IdempotencyStore } from './idempotency';
import type { LicenseEventLog } from './license-event.service';
import type { LicenseStore } from './license-store';

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
    private readonly catalog: CatalogService,
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
    const catalog = await this.catalog.load(caller);
    const feature = catalog.features.get(featureKey);
    if (!feature) throw new NotFoundError('Feature', featureKey);
    if (feature.kind !== 'METERED') {
      throw new BadUserInputError(
        'feature',
        `"${featureKey}" is a ${feature.kind} feature; only METERED features are metered`,
      );
    }

    return this.db.transaction(async (manager) => {
      const idempotent = key
        ? await this.idempotency.start(manager, 'recordUsage', key, { userId, feature: featureKey, amount })
        : null;
      if (idempotent?.replayed) return reviveUsageResult(idempotent.response);

      const now = new Date();
      await this.store.lock(manager, userId, now);
      const state = (await this.store.states(manager, [userId], catalog, now)).get(userId)!;
      const entitlement = effectiveEntitlements(state, now).find((e) => e.feature.key === featureKey);
      const periodStart = periodWindow(feature.usagePeriod, now).start;
      const counter = { userId, featureKey, periodStart };

      const allowed =
        entitlement !== undefined && (await this.add(manager, counter, amount, entitlement.limit, now));
      const used = allowed
        ? await this.usedNow(manager, counter)
        : (state.usedByFeature?.get(featureKey) ?? 0);
      if (allowed && entitlement.limit !== null && used >= entitlement.limit) {
        await this.markLimitReached(manager, counter, caller, now);
      }

      const result: UsageResult = { allowed, meter: meterAfterUse(feature, entitlement, used, now) };
      await idempotent?.complete(JSON.stringify(result));
      return result;
    });
  }

  /**
   * Adds `amount` in one conditional statement, only if the total stays within `limit`. (The counter row
   * is created with INSERT IGNORE; callers for one user are already serialized by the license lock.)
   */
  private async add(
    manager: EntityManager,
    counter: CounterKey,
    amount: number,
    limit: number | null,
    now: Date,
  ): Promise<boolean> {
    await manager
      .createQueryBuilder()
      .insert()
      .into(UsageCounterRow)
      .values({ ...counter, used: 0, limitReachedAt: null, updatedAt: now })
      .orIgnore()
      .execute();
    const update = manager
      .createQueryBuilder()
      .update(UsageCounterRow)
      .set({ used: () => 'used + :amount', updatedAt: now })
      .where('user_id = :userId AND feature_key = :featureKey AND period_start = :periodStart', counter)
      .setParameter('amount', amount);
    if (limit !== null) update.andWhere('used + :amount <= :limit', { limit });
    return (await update.execute()).affected === 1;
  }

  private async usedNow(manager: EntityManager, counter: CounterKey): Promise<number> {
    const row = await manager.findOneByOrFail(UsageCounterRow, counter);
    return Number(row.used);
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
