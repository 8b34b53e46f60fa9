import { BadUserInputError } from '../errors';
import { MAX_LIMIT } from './effective';
import { periodWindow } from './periods';
import type { Entitlement, Feature, PoolMeter, UsageMeter } from './types';

/** A stored usage counter: what a user used of a feature in the period starting at `periodStart`. */
export interface UsageCount {
  featureKey: string;
  periodStart: Date;
  used: number;
}

/** Usage in the current period of each feature; counters of past periods (or of an old period length) are ignored. */
export function currentUsage(
  counts: readonly UsageCount[],
  features: ReadonlyMap<string, Feature>,
  now: Date,
): Map<string, number> {
  const used = new Map<string, number>();
  for (const count of counts) {
    const feature = features.get(count.featureKey);
    if (feature && periodWindow(feature.usagePeriod, now).start.getTime() === count.periodStart.getTime()) {
      used.set(count.featureKey, count.used);
    }
  }
  return used;
}

/**
 * The oldest start any current period can have (a week may start in the previous year), so that one
 * query can fetch every current counter: those from here on, plus the lifetime ones (epoch start).
 */
export function earliestCurrentPeriodStart(now: Date): Date {
  const starts = (['DAY', 'WEEK', 'MONTH', 'YEAR'] as const).map((period) =>
    periodWindow(period, now).start.getTime(),
  );
  return new Date(Math.min(...starts));
}

/** Whether `amount` more stays within `limit` (null: unlimited). */
export function fitsLimit(used: number, amount: number, limit: number | null): boolean {
  return limit === null || used + amount <= limit;
}

/**
 * The meter `recordUsage` answers with; not entitled reads as a limit of 0. `limit` is the entitlement's,
 * or the pool's for a pooled feature (`organizationId` set).
 */
export function meterAfterUse(
  feature: Feature,
  limit: number | null | undefined,
  used: number,
  now: Date,
  organizationId: string | null = null,
): UsageMeter {
  const window = periodWindow(feature.usagePeriod, now);
  limit = limit === undefined ? 0 : limit;
  return {
    feature,
    organizationId,
    used: Math.min(used, MAX_LIMIT),
    limit,
    remaining: limit === null ? null : Math.max(0, limit - used),
    periodStart: window.start,
    periodEnd: window.end,
  };
}

/**
 * The pool a pooled `recordUsage` counts in (rule O4): the one `organizationId` names, or the only one the
 * identity may draw on; none (not entitled) is null. Several and none named cannot be decided.
 */
export function choosePool(
  entitlement: Entitlement | undefined,
  organizationId: string | null,
): PoolMeter | null {
  const pools = entitlement?.pools ?? [];
  if (organizationId !== null) return pools.find((pool) => pool.organizationId === organizationId) ?? null;
  if (pools.length > 1) {
    throw new BadUserInputError(
      'organizationId',
      `the user may draw on the pools of ${pools.length} organizations (${pools
        .map((pool) => pool.organizationId)
        .join(', ')}); name one with organizationId`,
    );
  }
  return pools[0] ?? null;
}

/**
 * Rule A1: the thresholds (percent of `limit`) a use took the meter across, from below `ceil(limit * t / 100)`
 * to at or above it, lowest first. An unlimited meter has none.
 */
export function crossedThresholds(
  thresholds: readonly number[],
  limit: number | null,
  usedBefore: number,
  usedAfter: number,
): number[] {
  if (limit === null) return [];
  return thresholds
    .filter((threshold) => {
      const mark = Math.ceil((limit * threshold) / 100);
      return usedBefore < mark && usedAfter >= mark;
    })
    .sort((a, b) => a - b);
}
