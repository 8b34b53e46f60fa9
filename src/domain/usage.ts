import { MAX_LIMIT } from './effective';
import { periodWindow } from './periods';
import type { Entitlement, Feature, UsageMeter } from './types';

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

/** The meter `recordUsage` answers with; not entitled reads as a limit of 0. */
export function meterAfterUse(
  feature: Feature,
  entitlement: Entitlement | undefined,
  used: number,
  now: Date,
): UsageMeter {
  const window = periodWindow(feature.usagePeriod, now);
  const limit = entitlement ? entitlement.limit : 0;
  return {
    feature,
    used: Math.min(used, MAX_LIMIT),
    limit,
    remaining: limit === null ? null : Math.max(0, limit - used),
    periodStart: window.start,
    periodEnd: window.end,
  };
}
