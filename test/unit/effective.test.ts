import type { Interval, LicenseState } from '../../src/domain/effective';
import {
  allowsUse,
  coverageEnd,
  defaultLicense,
  effectiveEntitlements,
  effectiveTierKey,
  MAX_LIMIT,
  mergeLimits,
  usageMeters,
  viewLicense,
} from '../../src/domain/effective';
import type { Entitlement, License, Trial } from '../../src/domain/types';
import {
  API,
  AUDIT,
  catalogOf,
  DAY,
  entitlement,
  entitlementOf,
  feature,
  grant,
  HOUR,
  licenseState,
  NOW,
  override,
  plus,
  SSO,
  THEME,
  tier,
} from '../testkit/domain-fixtures';

// ---- factories

const SECOND = 1000;

const SEATS = feature('seats', 'METERED', { usagePeriod: 'NEVER' });

const BASIC = tier('basic', 0, [
  [API, { limit: 100 }],
  [SEATS, { limit: 1 }],
  [THEME, { value: { color: 'grey' } }],
]);
const TEAM = tier('team', 10, [
  [API, { limit: 1000 }],
  [SEATS, { limit: 10 }],
  [AUDIT],
  [THEME, { value: { color: 'blue' } }],
]);
const CORP = tier('corp', 20, [[API], [SEATS, { limit: 500 }], [AUDIT], [SSO]]);

const CATALOG = catalogOf([API, SEATS, SSO, AUDIT, THEME], [BASIC, TEAM, CORP]);

function license(fields: Partial<License> = {}): License {
  return { ...defaultLicense('u1'), baseTierKey: 'basic', ...fields };
}

function trial(tierKey: string, endsAt: Date, startedAt = plus(NOW, -DAY)): Trial {
  return { tierKey, startedAt, endsAt };
}

/** u1 on the basic tier, over this file's catalog. */
const state = (fields: Partial<LicenseState> = {}) =>
  licenseState({ license: license(), catalog: CATALOG, defaultTier: 'basic', ...fields });

const keysOf = (entitlements: Entitlement[]) => entitlements.map((e) => e.feature.key);

// ---- rule 1: effective tier

describe('effective tier', () => {
  it('is the base tier when there is no trial', () => {
    expect(effectiveTierKey(license({ baseTierKey: 'team' }), 'basic', NOW)).toBe('team');
  });

  it('is the default tier when the license has no base tier of its own', () => {
    expect(effectiveTierKey(license({ baseTierKey: null }), 'free', NOW)).toBe('free');
  });

  it("is the trial's tier while the trial runs", () => {
    const l = license({ trial: trial('corp', plus(NOW, DAY)) });
    expect(effectiveTierKey(l, 'basic', NOW)).toBe('corp');
  });

  it('is still the trial tier one millisecond before the trial ends', () => {
    const endsAt = plus(NOW, HOUR);
    const l = license({ trial: trial('corp', endsAt) });
    expect(effectiveTierKey(l, 'basic', plus(endsAt, -1))).toBe('corp');
  });

  it('falls back to the base tier exactly at endsAt', () => {
    const endsAt = plus(NOW, HOUR);
    const l = license({ trial: trial('corp', endsAt) });
    expect(effectiveTierKey(l, 'basic', endsAt)).toBe('basic');
  });

  it('falls back to the default tier after a trial on a license without base tier', () => {
    const l = license({ baseTierKey: null, trial: trial('corp', NOW) });
    expect(effectiveTierKey(l, 'free', NOW)).toBe('free');
  });

  it('does not apply a trial that has not started yet', () => {
    const l = license({ trial: trial('corp', plus(NOW, 2 * DAY), plus(NOW, 1)) });
    expect(effectiveTierKey(l, 'basic', NOW)).toBe('basic');
  });

  it('applies a trial from the millisecond it starts', () => {
    const l = license({ trial: trial('corp', plus(NOW, 2 * DAY), NOW) });
    expect(effectiveTierKey(l, 'basic', NOW)).toBe('corp');
  });
});

// ---- rule 2: effective entitlements

describe('effectiveEntitlements', () => {
  it('gives nothing while the license is revoked, whatever tier, trial or grants it has', () => {
    const s = state({
      license: license({
        status: 'REVOKED',
        revokedAt: NOW,
        revokeReason: 'fraud',
        trial: trial('corp', plus(NOW, DAY)),
      }),
      grants: [grant('sso'), grant('api', { limit: 5 })],
    });
    expect(effectiveEntitlements(s, NOW)).toEqual([]);
  });

  it("lists the base tier's entitlements, one per feature, ordered by feature key", () => {
    const result = effectiveEntitlements(state(), NOW);
    expect(keysOf(result)).toEqual(['api', 'seats', 'theme']);
    expect(result.map((e) => e.source)).toEqual(['TIER', 'TIER', 'TIER']);
    expect(result.every((e) => e.grants.length === 0)).toBe(true);
  });

  it('orders by feature key when grants add features that sort between tier features', () => {
    const s = state({ grants: [grant('sso'), grant('audit')] });
    expect(keysOf(effectiveEntitlements(s, NOW))).toEqual(['api', 'audit', 'seats', 'sso', 'theme']);
  });

  it('uses the default tier for a license without a base tier', () => {
    const s = state({ license: license({ baseTierKey: null }), defaultTier: 'corp' });
    expect(keysOf(effectiveEntitlements(s, NOW))).toEqual(['api', 'audit', 'seats', 'sso']);
  });

  it('replaces the base tier with the trial tier (not a union), marked TRIAL', () => {
    const s = state({ license: license({ trial: trial('corp', plus(NOW, DAY)) }) });
    const result = effectiveEntitlements(s, NOW);
    expect(keysOf(result)).toEqual(['api', 'audit', 'seats', 'sso']);
    expect(result.map((e) => e.source)).toEqual(['TRIAL', 'TRIAL', 'TRIAL', 'TRIAL']);
    expect(result.find((e) => e.feature.key === 'seats')?.limit).toBe(500);
  });

  it('goes back to the base tier, marked TIER, once the trial has ended', () => {
    const endsAt = plus(NOW, -1);
    const s = state({ license: license({ trial: trial('corp', endsAt, plus(NOW, -DAY)) }) });
    const result = effectiveEntitlements(s, NOW);
    expect(keysOf(result)).toEqual(['api', 'seats', 'theme']);
    expect(result.every((e) => e.source === 'TIER')).toBe(true);
  });

  it('marks an entitlement GRANT and lists the grant when an active grant contributes', () => {
    const g = grant('api', { limit: 50 });
    const e = entitlementOf(state({ grants: [g] }), 'api');
    expect(e?.source).toBe('GRANT');
    expect(e?.grants).toEqual([g]);
  });

  it('marks GRANT even during a trial when a grant contributes', () => {
    const s = state({ license: license({ trial: trial('corp', plus(NOW, DAY)) }), grants: [grant('sso')] });
    expect(entitlementOf(s, 'sso')?.source).toBe('GRANT');
    expect(entitlementOf(s, 'audit')?.source).toBe('TRIAL');
  });

  it('adds a feature the tier lacks when a grant gives it', () => {
    const g = grant('sso');
    const e = entitlementOf(state({ grants: [g] }), 'sso');
    expect(e).toEqual({
      feature: SSO,
      source: 'GRANT',
      grants: [g],
      organizations: [],
      pools: [],
      override: null,
      limit: null,
      used: null,
      remaining: null,
      value: null,
      expiresAt: null,
    });
  });

  it('ignores grants for features that are not in the catalog', () => {
    const s = state({ grants: [grant('ghost'), grant('sso')] });
    expect(keysOf(effectiveEntitlements(s, NOW))).toEqual(['api', 'seats', 'sso', 'theme']);
  });

  describe('which grants count', () => {
    it('ignores a revoked grant', () => {
      const s = state({ grants: [grant('sso', { revokedAt: plus(NOW, -HOUR), revokeReason: 'oops' })] });
      expect(entitlementOf(s, 'sso')).toBeUndefined();
    });

    it('ignores a grant that starts later', () => {
      const s = state({ grants: [grant('sso', { startsAt: plus(NOW, 1) })] });
      expect(entitlementOf(s, 'sso')).toBeUndefined();
    });

    it('counts a grant from the millisecond it starts', () => {
      const s = state({ grants: [grant('sso', { startsAt: NOW })] });
      expect(entitlementOf(s, 'sso')?.source).toBe('GRANT');
    });

    it('still counts a grant one millisecond before it expires', () => {
      const expiresAt = plus(NOW, HOUR);
      const s = state({ grants: [grant('sso', { expiresAt })] });
      expect(entitlementOf(s, 'sso', null, plus(expiresAt, -1))?.source).toBe('GRANT');
    });

    it('stops counting a grant the millisecond it expires', () => {
      const expiresAt = plus(NOW, HOUR);
      const s = state({ grants: [grant('sso', { expiresAt })] });
      expect(entitlementOf(s, 'sso', null, expiresAt)).toBeUndefined();
    });

    it('does not add the limit of an expired or revoked grant to the tier limit', () => {
      const s = state({
        grants: [
          grant('api', { limit: 50, expiresAt: NOW }),
          grant('api', { limit: 70, revokedAt: plus(NOW, -1) }),
          grant('api', { limit: 90, startsAt: plus(NOW, SECOND) }),
        ],
      });
      const e = entitlementOf(s, 'api');
      expect(e?.limit).toBe(100);
      expect(e?.source).toBe('TIER');
      expect(e?.grants).toEqual([]);
    });

    it('lists only the active grants among the contributing ones', () => {
      const active = grant('api', { limit: 5 });
      const expired = grant('api', { limit: 7, expiresAt: plus(NOW, -1) });
      const e = entitlementOf(state({ grants: [expired, active] }), 'api');
      expect(e?.grants).toEqual([active]);
    });
  });

  describe('METERED limits', () => {
    it('adds the tier limit and every active grant limit', () => {
      const s = state({ grants: [grant('api', { limit: 50 }), grant('api', { limit: 25 })] });
      expect(entitlementOf(s, 'api')?.limit).toBe(175);
    });

    it('computes remaining from the usage in the current period', () => {
      const s = state({
        grants: [grant('api', { limit: 50 })],
        usedByFeature: new Map([['api', 40]]),
      });
      expect(entitlementOf(s, 'api')).toMatchObject({ limit: 150, used: 40, remaining: 110 });
    });

    it('counts missing usage as 0', () => {
      expect(entitlementOf(state(), 'api')).toMatchObject({ limit: 100, used: 0, remaining: 100 });
    });

    it('never reports negative remaining when usage exceeds the limit', () => {
      const s = state({ usedByFeature: new Map([['api', 130]]) });
      expect(entitlementOf(s, 'api')).toMatchObject({ limit: 100, used: 130, remaining: 0 });
    });

    it('is unlimited when one grant is unlimited', () => {
      const s = state({
        grants: [grant('api', { limit: 50 }), grant('api', { limit: null })],
        usedByFeature: new Map([['api', 7]]),
      });
      expect(entitlementOf(s, 'api')).toMatchObject({ limit: null, used: 7, remaining: null });
    });

    it('is unlimited when the tier is unlimited, whatever the grants add', () => {
      const s = state({ license: license({ baseTierKey: 'corp' }), grants: [grant('api', { limit: 10 })] });
      expect(entitlementOf(s, 'api')).toMatchObject({ limit: null, remaining: null });
    });

    it('saturates the sum at MAX_LIMIT (the GraphQL Int range)', () => {
      const s = state({
        grants: [grant('api', { limit: MAX_LIMIT }), grant('api', { limit: MAX_LIMIT })],
        usedByFeature: new Map([['api', 10]]),
      });
      expect(entitlementOf(s, 'api')).toMatchObject({ limit: MAX_LIMIT, remaining: MAX_LIMIT - 10 });
    });

    it('uses only grant limits for a metered feature the tier lacks', () => {
      const s = state({
        license: license({ baseTierKey: 'legacy' }),
        grants: [grant('api', { limit: 3 }), grant('api', { limit: 4 })],
      });
      expect(entitlementOf(s, 'api')).toMatchObject({ limit: 7, used: 0, remaining: 7 });
    });

    it('leaves limit, used and remaining null for non-metered features, even with usage recorded', () => {
      const s = state({
        grants: [grant('sso', { limit: 5 })],
        usedByFeature: new Map([['sso', 3]]),
      });
      expect(entitlementOf(s, 'sso')).toMatchObject({ limit: null, used: null, remaining: null });
    });
  });

  describe('CONFIG values', () => {
    it("takes the tier's value when no grant sets one", () => {
      expect(entitlementOf(state(), 'theme')?.value).toEqual({ color: 'grey' });
    });

    it("takes an active grant's value over the tier's", () => {
      const s = state({ grants: [grant('theme', { value: { color: 'red' } })] });
      expect(entitlementOf(s, 'theme')?.value).toEqual({ color: 'red' });
    });

    it('takes the grant that started last, even if it was created first', () => {
      const s = state({
        grants: [
          grant('theme', { value: 'older', startsAt: plus(NOW, -2 * DAY), createdAt: plus(NOW, -HOUR) }),
          grant('theme', { value: 'newer', startsAt: plus(NOW, -DAY), createdAt: plus(NOW, -3 * DAY) }),
        ],
      });
      expect(entitlementOf(s, 'theme')?.value).toBe('newer');
    });

    it('breaks a tie on startsAt with the grant created last', () => {
      const startsAt = plus(NOW, -DAY);
      const s = state({
        grants: [
          grant('theme', { value: 'second', startsAt, createdAt: plus(NOW, -HOUR) }),
          grant('theme', { value: 'first', startsAt, createdAt: plus(NOW, -2 * HOUR) }),
        ],
      });
      expect(entitlementOf(s, 'theme')?.value).toBe('second');
    });

    it('ignores the value of a newer grant that has expired or not started', () => {
      const s = state({
        grants: [
          grant('theme', { value: 'current', startsAt: plus(NOW, -2 * DAY) }),
          grant('theme', { value: 'expired', startsAt: plus(NOW, -DAY), expiresAt: NOW }),
          grant('theme', { value: 'future', startsAt: plus(NOW, 1) }),
        ],
      });
      expect(entitlementOf(s, 'theme')?.value).toBe('current');
    });

    it("falls back to the tier's value when the newest grant sets no value", () => {
      const s = state({ grants: [grant('theme', { value: null })] });
      const e = entitlementOf(s, 'theme');
      expect(e?.value).toEqual({ color: 'grey' });
      expect(e?.source).toBe('GRANT');
    });

    it('keeps falsy JSON values from a grant (false, 0, empty string)', () => {
      for (const value of [false, 0, '']) {
        const s = state({ grants: [grant('theme', { value })] });
        expect(entitlementOf(s, 'theme')?.value).toBe(value);
      }
    });

    it('gives null for a CONFIG feature a grant adds without value and no tier sets', () => {
      const s = state({ license: license({ baseTierKey: 'corp' }), grants: [grant('theme')] });
      expect(entitlementOf(s, 'theme')?.value).toBeNull();
    });

    it('gives null values to non-CONFIG features', () => {
      const s = state({ grants: [grant('api', { limit: 1, value: 'x' })] });
      expect(entitlementOf(s, 'api')?.value).toBeNull();
    });
  });
});

// ---- rule V1: overrides

describe('overrides (rule V1): applied after every other source, and they win', () => {
  const corpTrial = license({ trial: trial('corp', plus(NOW, DAY)) });

  it.each<[string, Partial<LicenseState>, string, Partial<Entitlement> | undefined]>([
    // DENY removes the feature whatever gives it.
    [
      'DENY of a tier BOOLEAN',
      { license: license({ baseTierKey: 'corp' }), overrides: [override('sso', 'DENY')] },
      'sso',
      undefined,
    ],
    ['DENY of a tier METERED', { overrides: [override('api', 'DENY')] }, 'api', undefined],
    ['DENY of a tier CONFIG', { overrides: [override('theme', 'DENY')] }, 'theme', undefined],
    [
      'DENY of a trial and a grant',
      { license: corpTrial, grants: [grant('sso')], overrides: [override('sso', 'DENY')] },
      'sso',
      undefined,
    ],
    ['DENY of what nothing gives', { overrides: [override('sso', 'DENY')] }, 'sso', undefined],
    // LIMIT makes the limit exactly its own, raised or lowered, and gives the feature by itself.
    [
      'LIMIT raising a tier limit and a grant',
      {
        grants: [grant('api', { limit: 50 })],
        overrides: [override('api', 'LIMIT', { limit: 500 })],
        usedByFeature: new Map([['api', 40]]),
      },
      'api',
      { source: 'OVERRIDE', limit: 500, used: 40, remaining: 460 },
    ],
    [
      'LIMIT lowering an unlimited trial tier',
      { license: corpTrial, overrides: [override('api', 'LIMIT', { limit: 20 })] },
      'api',
      { source: 'OVERRIDE', limit: 20, remaining: 20 },
    ],
    [
      'LIMIT null: unlimited',
      { overrides: [override('api', 'LIMIT')] },
      'api',
      { limit: null, remaining: null, used: 0 },
    ],
    [
      'LIMIT below what is used',
      { overrides: [override('api', 'LIMIT', { limit: 5 })], usedByFeature: new Map([['api', 9]]) },
      'api',
      { limit: 5, used: 9, remaining: 0 },
    ],
    [
      'LIMIT where nothing gives the feature',
      { license: license({ baseTierKey: 'legacy' }), overrides: [override('api', 'LIMIT', { limit: 3 })] },
      'api',
      { source: 'OVERRIDE', limit: 3, used: 0, remaining: 3, grants: [], expiresAt: null },
    ],
    // VALUE makes the value its own, and gives the feature by itself.
    [
      'VALUE over the newest grant',
      {
        grants: [grant('theme', { value: 'red' })],
        overrides: [override('theme', 'VALUE', { value: 'black' })],
      },
      'theme',
      { source: 'OVERRIDE', value: 'black' },
    ],
    ['VALUE null', { overrides: [override('theme', 'VALUE')] }, 'theme', { source: 'OVERRIDE', value: null }],
    [
      'VALUE where nothing gives the feature',
      { license: license({ baseTierKey: 'corp' }), overrides: [override('theme', 'VALUE', { value: 1 })] },
      'theme',
      { value: 1, limit: null, used: null },
    ],
    // Only active overrides count.
    [
      'an override that has ended',
      { overrides: [override('api', 'DENY', { endedAt: plus(NOW, -1) })] },
      'api',
      { source: 'TIER', override: null },
    ],
    [
      'an override expiring exactly now',
      { overrides: [override('api', 'DENY', { expiresAt: NOW })] },
      'api',
      { source: 'TIER' },
    ],
    [
      'an override expiring one millisecond later',
      { overrides: [override('api', 'DENY', { expiresAt: plus(NOW, 1) })] },
      'api',
      undefined,
    ],
    // An override of the wrong kind (the feature changed kind since) is ignored; a revoked license gives nothing.
    [
      'a LIMIT on a feature now BOOLEAN',
      { license: license({ baseTierKey: 'corp' }), overrides: [override('sso', 'LIMIT', { limit: 1 })] },
      'sso',
      { source: 'TIER', limit: null },
    ],
    [
      'a VALUE on a feature now METERED',
      { overrides: [override('api', 'VALUE', { value: 'x' })] },
      'api',
      { source: 'TIER', value: null },
    ],
    [
      'a revoked license',
      { license: license({ status: 'REVOKED' }), overrides: [override('api', 'LIMIT', { limit: 5 })] },
      'api',
      undefined,
    ],
  ])('%s', (_case, extra, key, expected) => {
    const e = entitlementOf(state(extra), key);
    if (expected === undefined) expect(e).toBeUndefined();
    else expect(e).toMatchObject(expected);
  });

  it('points at the override that decides, and keeps the grants that would have contributed', () => {
    const g = grant('api', { limit: 5 });
    const o = override('api', 'LIMIT', { limit: 7 });
    expect(entitlementOf(state({ grants: [g], overrides: [o] }), 'api')).toMatchObject({
      override: o,
      grants: [g],
    });
  });

  it('keeps the entitlements in feature order when an override adds one', () => {
    const s = state({
      license: license({ baseTierKey: 'legacy' }),
      overrides: [override('theme', 'VALUE'), override('api', 'LIMIT')],
    });
    expect(keysOf(effectiveEntitlements(s, NOW))).toEqual(['api', 'theme']);
  });

  it('ignores an override of a feature not in the catalog', () => {
    expect(
      effectiveEntitlements(state({ overrides: [override('ghost', 'LIMIT', { limit: 1 })] }), NOW),
    ).toEqual(effectiveEntitlements(state(), NOW));
  });

  it.each<[string, Partial<LicenseState>, Date | null]>([
    [
      'the tier goes on after it',
      { overrides: [override('api', 'LIMIT', { limit: 1, expiresAt: plus(NOW, DAY) })] },
      null,
    ],
    [
      'nothing else gives the feature',
      { overrides: [override('theme', 'VALUE', { expiresAt: plus(NOW, DAY) })] },
      plus(NOW, DAY),
    ],
    [
      'a grant giving it ends later',
      {
        grants: [grant('theme', { expiresAt: plus(NOW, 3 * DAY) })],
        overrides: [override('theme', 'VALUE', { expiresAt: plus(NOW, DAY) })],
      },
      plus(NOW, 3 * DAY),
    ],
    [
      'a grant giving it ends earlier',
      {
        grants: [grant('theme', { expiresAt: plus(NOW, HOUR) })],
        overrides: [override('theme', 'VALUE', { expiresAt: plus(NOW, DAY) })],
      },
      plus(NOW, DAY),
    ],
    ['it never ends', { overrides: [override('theme', 'VALUE')] }, null],
  ])('says when access ends if nothing changes: %s', (_case, extra, expiresAt) => {
    // The corporate tier has no theme: only grants and overrides give it.
    const s = state({ license: license({ baseTierKey: 'corp' }), ...extra });
    const key = extra.overrides![0].featureKey;
    expect(entitlementOf(s, key)?.expiresAt).toEqual(expiresAt);
  });
});

// ---- rule 11: allowsUse

describe('allowsUse', () => {
  it('refuses when there is no entitlement', () => {
    expect(allowsUse(undefined)).toBe(false);
  });

  it('refuses a metered feature with nothing remaining', () => {
    expect(allowsUse(entitlement(API, { limit: 10, used: 10, remaining: 0 }))).toBe(false);
  });

  it('allows a metered feature with one unit remaining', () => {
    expect(allowsUse(entitlement(API, { limit: 10, used: 9, remaining: 1 }))).toBe(true);
  });

  it('allows an unlimited metered feature', () => {
    expect(allowsUse(entitlement(API, { limit: null, used: 1_000_000, remaining: null }))).toBe(true);
  });

  it('allows BOOLEAN and CONFIG features whenever entitled', () => {
    expect(allowsUse(entitlement(SSO))).toBe(true);
    expect(allowsUse(entitlement(THEME, { value: 'dark' }))).toBe(true);
  });

  it('refuses a metered feature whose limit is 0', () => {
    const s = state({ license: license({ baseTierKey: 'legacy' }), grants: [grant('api', { limit: 0 })] });
    expect(allowsUse(entitlementOf(s, 'api'))).toBe(false);
  });

  it('refuses once the period usage reaches the computed limit', () => {
    const s = state({ usedByFeature: new Map([['api', 100]]) });
    expect(allowsUse(entitlementOf(s, 'api'))).toBe(false);
    const more = state({ usedByFeature: new Map([['api', 99]]) });
    expect(allowsUse(entitlementOf(more, 'api'))).toBe(true);
  });
});

// ---- mergeLimits

describe('mergeLimits', () => {
  it('adds limits', () => {
    expect(mergeLimits([100, 50, 25])).toBe(175);
  });

  it('keeps a 0 limit as 0', () => {
    expect(mergeLimits([0, 0])).toBe(0);
  });

  it('is 0 without any source', () => {
    expect(mergeLimits([])).toBe(0);
  });

  it('is unlimited (null) when any source is unlimited', () => {
    expect(mergeLimits([100, null, 5])).toBeNull();
    expect(mergeLimits([null])).toBeNull();
  });

  it('saturates at MAX_LIMIT instead of overflowing the GraphQL Int', () => {
    expect(mergeLimits([MAX_LIMIT, 1])).toBe(MAX_LIMIT);
    expect(mergeLimits([MAX_LIMIT - 1, 1])).toBe(MAX_LIMIT);
    expect(mergeLimits([MAX_LIMIT - 2, 1])).toBe(MAX_LIMIT - 1);
  });
});

// ---- expiresAt: coverageEnd / accessEnd

describe('coverageEnd', () => {
  const at = (ms: number) => plus(NOW, ms);
  const interval = (start: number, end: number | null): Interval => ({
    start: at(start),
    end: end === null ? null : at(end),
  });

  it('is now when nothing covers now', () => {
    expect(coverageEnd(NOW, [])).toEqual(NOW);
    expect(coverageEnd(NOW, [interval(HOUR, 2 * HOUR)])).toEqual(NOW);
  });

  it('does not count an interval that ends exactly now', () => {
    expect(coverageEnd(NOW, [interval(-HOUR, 0)])).toEqual(NOW);
  });

  it('is null when an open-ended interval covers now', () => {
    expect(coverageEnd(NOW, [interval(-HOUR, null)])).toBeNull();
  });

  it('is the end of the one interval covering now', () => {
    expect(coverageEnd(NOW, [interval(-HOUR, DAY)])).toEqual(at(DAY));
  });

  it('follows a chain of contiguous intervals, in any order', () => {
    const chain = [interval(2 * DAY, 3 * DAY), interval(-DAY, DAY), interval(DAY, 2 * DAY)];
    expect(coverageEnd(NOW, chain)).toEqual(at(3 * DAY));
  });

  it('follows overlapping intervals to the furthest end', () => {
    expect(coverageEnd(NOW, [interval(-DAY, 2 * DAY), interval(DAY, 5 * DAY)])).toEqual(at(5 * DAY));
  });

  it('is null when the chain reaches an open-ended interval', () => {
    expect(coverageEnd(NOW, [interval(-DAY, DAY), interval(DAY, null)])).toBeNull();
  });

  it('stops at a gap, even one millisecond long', () => {
    expect(coverageEnd(NOW, [interval(-DAY, DAY), interval(DAY + 1, null)])).toEqual(at(DAY));
  });

  it('counts nothing for an interval whose dates are not valid', () => {
    const invalid = new Date(Number.NaN);
    expect(coverageEnd(NOW, [{ start: invalid, end: null }])).toEqual(NOW);
    expect(coverageEnd(NOW, [{ start: at(-DAY), end: invalid }])).toEqual(NOW);
  });
});

describe('entitlement expiresAt', () => {
  it('is null when the base tier covers the feature forever', () => {
    expect(entitlementOf(state(), 'api')?.expiresAt).toBeNull();
  });

  it('is the trial end when only the trial tier has the feature', () => {
    const endsAt = plus(NOW, 3 * DAY);
    const s = state({ license: license({ trial: trial('team', endsAt) }) });
    expect(entitlementOf(s, 'audit')?.expiresAt).toEqual(endsAt);
  });

  it('is null when both the trial tier and the base tier have the feature', () => {
    const s = state({ license: license({ trial: trial('team', plus(NOW, 3 * DAY)) }) });
    expect(entitlementOf(s, 'api')?.expiresAt).toBeNull();
  });

  it('is the expiry of the only grant giving the feature', () => {
    const expiresAt = plus(NOW, 5 * DAY);
    const s = state({ grants: [grant('sso', { expiresAt })] });
    expect(entitlementOf(s, 'sso')?.expiresAt).toEqual(expiresAt);
  });

  it('is null for a grant that never expires', () => {
    const s = state({ grants: [grant('sso', { expiresAt: null })] });
    expect(entitlementOf(s, 'sso')?.expiresAt).toBeNull();
  });

  it('follows contiguous grants, including one that starts later', () => {
    const s = state({
      grants: [
        grant('sso', { expiresAt: plus(NOW, DAY) }),
        grant('sso', { startsAt: plus(NOW, DAY), expiresAt: plus(NOW, 3 * DAY) }),
      ],
    });
    expect(entitlementOf(s, 'sso')?.expiresAt).toEqual(plus(NOW, 3 * DAY));
  });

  it('stops the chain at a gap between grants', () => {
    const s = state({
      grants: [
        grant('sso', { expiresAt: plus(NOW, DAY) }),
        grant('sso', { startsAt: plus(NOW, DAY + SECOND), expiresAt: plus(NOW, 3 * DAY) }),
      ],
    });
    expect(entitlementOf(s, 'sso')?.expiresAt).toEqual(plus(NOW, DAY));
  });

  it('does not chain through a revoked grant', () => {
    const s = state({
      grants: [
        grant('sso', { expiresAt: plus(NOW, DAY) }),
        grant('sso', { startsAt: plus(NOW, DAY), expiresAt: plus(NOW, 3 * DAY), revokedAt: NOW }),
      ],
    });
    expect(entitlementOf(s, 'sso')?.expiresAt).toEqual(plus(NOW, DAY));
  });

  it('extends a trial-only feature by a grant that starts when the trial ends', () => {
    const endsAt = plus(NOW, 2 * DAY);
    const s = state({
      license: license({ trial: trial('team', endsAt) }),
      grants: [grant('audit', { startsAt: endsAt, expiresAt: plus(endsAt, 5 * DAY) })],
    });
    expect(entitlementOf(s, 'audit')?.expiresAt).toEqual(plus(endsAt, 5 * DAY));
  });

  it('ends at the grant expiry when a trial tier without the feature runs until after it', () => {
    const endsAt = plus(NOW, 2 * DAY);
    const s = state({
      license: license({ trial: trial('corp', endsAt) }),
      grants: [grant('theme', { value: 'x', expiresAt: plus(endsAt, -HOUR) })],
    });
    expect(entitlementOf(s, 'theme')?.expiresAt).toEqual(plus(endsAt, -HOUR));
  });

  it('is null when a grant bridges a trial without the feature to a base tier with it', () => {
    const endsAt = plus(NOW, 2 * DAY);
    const s = state({
      license: license({ trial: trial('corp', endsAt) }),
      grants: [grant('theme', { value: 'x', expiresAt: endsAt })],
    });
    expect(entitlementOf(s, 'theme')?.expiresAt).toBeNull();
  });
});

// ---- usage meters

describe('usageMeters', () => {
  it('gives one meter per metered entitlement, in the feature period', () => {
    const s = state({ usedByFeature: new Map([['api', 30]]) });
    const meters = usageMeters(effectiveEntitlements(s, NOW), NOW);
    expect(meters).toEqual([
      {
        feature: API,
        organizationId: null,
        used: 30,
        limit: 100,
        remaining: 70,
        periodStart: new Date('2026-06-01T00:00:00.000Z'),
        periodEnd: new Date('2026-07-01T00:00:00.000Z'),
      },
      {
        feature: SEATS,
        organizationId: null,
        used: 0,
        limit: 1,
        remaining: 1,
        periodStart: new Date(0),
        periodEnd: null,
      },
    ]);
  });

  it('has no meter for BOOLEAN or CONFIG entitlements', () => {
    expect(usageMeters([entitlement(SSO), entitlement(THEME, { value: 1 })], NOW)).toEqual([]);
  });

  it('shows unlimited meters with null limit and remaining', () => {
    const [meter] = usageMeters([entitlement(API, { used: 5, limit: null, remaining: null })], NOW);
    expect(meter).toMatchObject({ used: 5, limit: null, remaining: null });
  });

  it('reports used 0 when the entitlement has no usage figure', () => {
    const [meter] = usageMeters([entitlement(API, { used: null, limit: 3, remaining: 3 })], NOW);
    expect(meter.used).toBe(0);
  });
});

// ---- viewLicense / defaultLicense

describe('defaultLicense', () => {
  it('is an active license on the default tier, without trial, for the given user', () => {
    expect(defaultLicense('user-42')).toEqual({
      userId: 'user-42',
      baseTierKey: null,
      status: 'ACTIVE',
      revokedAt: null,
      revokeReason: null,
      trial: null,
      updatedAt: new Date(0),
    });
  });
});

describe('viewLicense', () => {
  it('resolves an identity without a record to the configured default tier', () => {
    const view = viewLicense(state({ license: defaultLicense('u9'), defaultTier: 'team' }), NOW);
    expect(view.userId).toBe('u9');
    expect(view.license.status).toBe('ACTIVE');
    expect(view.license.baseTier).toBe(TEAM);
    expect(view.license.trial).toBeNull();
    expect(view.tier).toBe(TEAM);
    expect(keysOf(view.entitlements)).toEqual(['api', 'audit', 'seats', 'theme']);
    expect(usageMeters(view.entitlements, view.now).map((m) => m.feature.key)).toEqual(['api', 'seats']);
  });

  it('resolves an unknown tier key to an empty tier named after the key', () => {
    const s = state({ license: license({ baseTierKey: 'legacy' }), grants: [grant('sso')] });
    const view = viewLicense(s, NOW);
    const empty = { key: 'legacy', name: 'legacy', rank: 0, entitlements: [] };
    expect(view.license.baseTier).toEqual(empty);
    expect(view.tier).toEqual(empty);
    expect(keysOf(view.entitlements)).toEqual(['sso']);
    expect(usageMeters(view.entitlements, view.now)).toEqual([]);
  });

  it('resolves an unknown trial tier key to an empty tier too', () => {
    const s = state({ license: license({ trial: trial('gone', plus(NOW, DAY)) }) });
    const view = viewLicense(s, NOW);
    expect(view.license.trial?.tier).toEqual({ key: 'gone', name: 'gone', rank: 0, entitlements: [] });
    expect(view.tier.key).toBe('gone');
    expect(view.entitlements).toEqual([]);
  });

  it('shows a running trial as active with the trial tier as the effective tier', () => {
    const t = trial('corp', plus(NOW, DAY));
    const view = viewLicense(state({ license: license({ trial: t }) }), NOW);
    expect(view.license.trial).toEqual({
      tier: CORP,
      startedAt: t.startedAt,
      endsAt: t.endsAt,
      active: true,
    });
    expect(view.license.baseTier).toBe(BASIC);
    expect(view.tier).toBe(CORP);
  });

  it('shows an ended trial as inactive with the base tier as the effective tier', () => {
    const t = trial('corp', NOW, plus(NOW, -DAY));
    const view = viewLicense(state({ license: license({ trial: t }) }), NOW);
    expect(view.license.trial?.active).toBe(false);
    expect(view.tier).toBe(BASIC);
  });

  it('shows a revoked license with its reason and no entitlements or meters', () => {
    const revokedAt = plus(NOW, -HOUR);
    const updatedAt = plus(NOW, -HOUR);
    const s = state({
      license: license({ status: 'REVOKED', revokedAt, revokeReason: 'chargeback', updatedAt }),
      grants: [grant('sso')],
    });
    const view = viewLicense(s, NOW);
    expect(view.license).toMatchObject({
      status: 'REVOKED',
      revokedAt,
      revokeReason: 'chargeback',
      updatedAt,
    });
    expect(view.license.baseTier).toBe(BASIC);
    expect(view.entitlements).toEqual([]);
    expect(usageMeters(view.entitlements, view.now)).toEqual([]);
  });

  it('uses the same entitlements as effectiveEntitlements and meters over them', () => {
    const s = state({ grants: [grant('api', { limit: 10 })], usedByFeature: new Map([['api', 4]]) });
    const view = viewLicense(s, NOW);
    expect(view.entitlements).toEqual(effectiveEntitlements(s, NOW));
    expect(usageMeters(view.entitlements, view.now).find((m) => m.feature.key === 'api')).toMatchObject({
      limit: 110,
      used: 4,
      remaining: 106,
    });
  });
});
