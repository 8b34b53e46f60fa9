import type { Entitlement, Feature } from '../../src/domain/types';
import {
  crossedThresholds,
  currentUsage,
  earliestCurrentPeriodStart,
  meterAfterUse,
} from '../../src/domain/usage';

const feature = (key: string, usagePeriod: Feature['usagePeriod']): Feature => ({
  key,
  kind: 'METERED',
  description: null,
  usagePeriod,
  meterScope: 'USER',
  alertThresholds: [],
});
const API = feature('api', 'MONTH');
const DAILY = feature('daily', 'DAY');
const LIFETIME = feature('seats', 'NEVER');
const FEATURES = new Map([API, DAILY, LIFETIME].map((f) => [f.key, f]));

const entitled = (limit: number | null): Entitlement => ({
  feature: API,
  source: 'TIER',
  grants: [],
  organizations: [],
  pools: [],
  override: null,
  limit,
  used: 0,
  remaining: limit,
  value: null,
  expiresAt: null,
});

describe('currentUsage', () => {
  const now = new Date('2026-03-31T23:59:59.999Z');

  it('counts only the counter of the current period of each feature', () => {
    const used = currentUsage(
      [
        { featureKey: 'api', periodStart: new Date('2026-02-01T00:00:00Z'), used: 70 },
        { featureKey: 'api', periodStart: new Date('2026-03-01T00:00:00Z'), used: 5 },
        { featureKey: 'daily', periodStart: new Date('2026-03-30T00:00:00Z'), used: 9 },
        { featureKey: 'daily', periodStart: new Date('2026-03-31T00:00:00Z'), used: 2 },
        { featureKey: 'seats', periodStart: new Date(0), used: 3 },
      ],
      FEATURES,
      now,
    );
    expect(Object.fromEntries(used)).toEqual({ api: 5, daily: 2, seats: 3 });
  });

  it('starts from zero the millisecond a new period begins', () => {
    const next = new Date('2026-04-01T00:00:00.000Z');
    const used = currentUsage(
      [{ featureKey: 'api', periodStart: new Date('2026-03-01T00:00:00Z'), used: 5 }],
      FEATURES,
      next,
    );
    expect(used.get('api')).toBeUndefined();
  });

  it('ignores counters of features no longer in the catalog', () => {
    expect(
      currentUsage([{ featureKey: 'gone', periodStart: new Date(0), used: 1 }], FEATURES, now).size,
    ).toBe(0);
  });
});

describe('earliestCurrentPeriodStart', () => {
  it('is the start of the year in mid-year', () => {
    expect(earliestCurrentPeriodStart(new Date('2026-07-15T10:00:00Z'))).toEqual(
      new Date('2026-01-01T00:00:00Z'),
    );
  });

  it('is the Monday of an ISO week that began in the previous year', () => {
    // Friday 1 January 2027 belongs to the week of Monday 28 December 2026 (ISO week 53).
    expect(earliestCurrentPeriodStart(new Date('2027-01-01T12:00:00Z'))).toEqual(
      new Date('2026-12-28T00:00:00Z'),
    );
  });
});

describe('meterAfterUse', () => {
  const now = new Date('2028-02-29T12:00:00Z');

  it('reports the period, the limit and what remains', () => {
    expect(meterAfterUse(API, entitled(100).limit, 30, now)).toEqual({
      feature: API,
      organizationId: null,
      used: 30,
      limit: 100,
      remaining: 70,
      periodStart: new Date('2028-02-01T00:00:00Z'),
      periodEnd: new Date('2028-03-01T00:00:00Z'),
    });
  });

  it('reads as a limit of 0 when not entitled', () => {
    expect(meterAfterUse(API, undefined, 4, now)).toMatchObject({ used: 4, limit: 0, remaining: 0 });
  });

  it('has no remaining figure when unlimited, and keeps used within a GraphQL Int', () => {
    expect(meterAfterUse(API, entitled(null).limit, 5_000_000_000, now)).toMatchObject({
      used: 2_147_483_647,
      limit: null,
      remaining: null,
    });
  });
});

describe('crossedThresholds (rule A1)', () => {
  it.each<[string, number[], number | null, number, number, number[]]>([
    ['none below the first mark', [50, 80], 10, 0, 4, []],
    ['the call that reaches a mark', [50, 80], 10, 4, 5, [50]],
    ['none once past a mark', [50, 80], 10, 5, 6, []],
    ['one call crossing several, lowest first', [80, 50], 10, 0, 9, [50, 80]],
    ['every one when the limit is reached at once', [50, 80, 99], 10, 0, 10, [50, 80, 99]],
    ['marks rounded up: 50 % of 3 is 2', [50], 3, 0, 1, []],
    ['marks rounded up: reached at 2 of 3', [50], 3, 1, 2, [50]],
    ['1 % of a large limit', [1], 1_000_000, 9_999, 10_000, [1]],
    ['none on an unlimited meter', [50, 80], null, 0, 1_000_000, []],
    ['a limit of 0 is reached by nothing that is allowed', [50], 0, 0, 0, []],
    ['none without thresholds', [], 10, 0, 10, []],
  ])('%s', (_case, thresholds, limit, before, after, crossed) => {
    expect(crossedThresholds(thresholds, limit, before, after)).toEqual(crossed);
  });
});
