import type { LicenseState, OrganizationState } from '../../src/domain/effective';
import {
  allowsUse,
  defaultLicense,
  effectiveEntitlements,
  organizationEntitlements,
  usageMeters,
} from '../../src/domain/effective';
import type {
  Catalog,
  Entitlement,
  Feature,
  FeatureKind,
  Grant,
  JsonValue,
  MeterScope,
  OrganizationLicense,
  Override,
  Tier,
} from '../../src/domain/types';
import { choosePool } from '../../src/domain/usage';

/** Rule O3 (effective entitlements over every source) and O4 (pooled meters), without a database. */

const NOW = new Date('2026-06-15T12:00:00.000Z');
const DAY = 86_400_000;
const at = (ms: number) => new Date(NOW.getTime() + ms);

const feature = (key: string, kind: FeatureKind = 'BOOLEAN', meterScope: MeterScope = 'USER'): Feature => ({
  key,
  kind,
  description: null,
  usagePeriod: 'MONTH',
  meterScope,
  alertThresholds: [],
});

const SSO = feature('sso');
const AUDIT = feature('audit');
const API = feature('api', 'METERED');
const THEME = feature('theme', 'CONFIG');
const CREDITS = feature('credits', 'METERED', 'ORGANIZATION');

type Entry = [Feature, { limit?: number | null; value?: JsonValue }?];
const tier = (key: string, rank: number, entries: Entry[]): Tier => ({
  key,
  name: key,
  rank,
  entitlements: entries.map(([f, o]) => ({ feature: f, limit: o?.limit ?? null, value: o?.value ?? null })),
});

const FREE = tier('free', 0, [
  [API, { limit: 100 }],
  [THEME, { value: 'grey' }],
]);
const TEAM = tier('team', 10, [
  [SSO],
  [API, { limit: 1000 }],
  [THEME, { value: 'blue' }],
  [CREDITS, { limit: 30 }],
]);
const ENTERPRISE = tier('enterprise', 20, [[SSO], [AUDIT], [API], [THEME, { value: 'gold' }], [CREDITS]]);

const CATALOG: Catalog = {
  features: new Map([SSO, AUDIT, API, THEME, CREDITS].map((f) => [f.key, f])),
  tiers: new Map([FREE, TEAM, ENTERPRISE].map((t) => [t.key, t])),
};

let seq = 0;
function grant(featureKey: string, owner: Partial<Grant>, extra: Partial<Grant> = {}): Grant {
  seq += 1;
  return {
    id: `g${seq}`,
    userId: null,
    organizationId: null,
    featureKey,
    limit: null,
    value: null,
    startsAt: at(-DAY),
    expiresAt: null,
    revokedAt: null,
    revokeReason: null,
    grantedBy: 'admin',
    reason: null,
    createdAt: at(-DAY + seq),
    ...owner,
    ...extra,
  };
}
const orgGrant = (organizationId: string, featureKey: string, extra: Partial<Grant> = {}) =>
  grant(featureKey, { organizationId }, extra);
const userGrant = (featureKey: string, extra: Partial<Grant> = {}) =>
  grant(featureKey, { userId: 'u1' }, extra);

function organization(
  organizationId: string,
  tierKey: string,
  extra: { status?: OrganizationLicense['status']; grants?: Grant[]; used?: Record<string, number> } = {},
): OrganizationState {
  return {
    license: {
      organizationId,
      tierKey,
      seatLimit: null,
      seatsUsed: 1,
      status: extra.status ?? 'ACTIVE',
      revokedAt: null,
      revokeReason: null,
      updatedAt: NOW,
    },
    seat: { id: '1', organizationId, userId: 'u1', assignedAt: at(-DAY), assignedBy: 'admin' },
    grants: extra.grants ?? [],
    usedByFeature: new Map(Object.entries(extra.used ?? {})),
  };
}

function state(extra: Partial<LicenseState> = {}): LicenseState {
  return {
    license: { ...defaultLicense('u1'), baseTierKey: 'free' },
    grants: [],
    catalog: CATALOG,
    defaultTier: 'free',
    usedByFeature: new Map(),
    organizations: [],
    ...extra,
  };
}

const of = (s: LicenseState, key: string, organizationId: string | null = null): Entitlement | undefined =>
  effectiveEntitlements(s, NOW, organizationId).find((e) => e.feature.key === key);

describe('effective entitlements over every source (rule O3)', () => {
  const acme = organization('acme', 'team');
  const globex = organization('globex', 'enterprise');

  it.each<[string, LicenseState, string, Partial<Entitlement> | undefined]>([
    // BOOLEAN: present if any source gives it.
    [
      'BOOLEAN from a seat only',
      state({ organizations: [acme] }),
      'sso',
      { source: 'ORGANIZATION', organizations: ['acme'] },
    ],
    ['BOOLEAN absent without a seat', state(), 'sso', undefined],
    [
      'BOOLEAN from two seats',
      state({ organizations: [acme, globex] }),
      'sso',
      { organizations: ['acme', 'globex'] },
    ],
    [
      'BOOLEAN from a personal grant and a seat: the grant speaks',
      state({ grants: [userGrant('sso')], organizations: [acme] }),
      'sso',
      { source: 'GRANT', organizations: ['acme'] },
    ],
    // METERED (USER scope): the sum over every source, counted in the user's own meter.
    [
      'METERED sums the own tier and each seat',
      state({ organizations: [acme], usedByFeature: new Map([['api', 40]]) }),
      'api',
      { limit: 1100, used: 40, remaining: 1060, source: 'TIER', organizations: ['acme'] },
    ],
    [
      'METERED adds organization grants',
      state({
        organizations: [organization('acme', 'team', { grants: [orgGrant('acme', 'api', { limit: 5 })] })],
      }),
      'api',
      { limit: 1105 },
    ],
    [
      'METERED unlimited when any source is',
      state({ organizations: [acme, globex] }),
      'api',
      { limit: null, remaining: null },
    ],
    // CONFIG: the newest active grant, personal or organization, else the highest-ranked contributing tier.
    [
      'CONFIG takes the highest-ranked tier',
      state({ organizations: [acme, globex] }),
      'theme',
      { value: 'gold' },
    ],
    [
      'CONFIG takes the newest grant, an organization one',
      state({
        grants: [userGrant('theme', { value: 'mine', startsAt: at(-2 * DAY) })],
        organizations: [
          organization('acme', 'team', { grants: [orgGrant('acme', 'theme', { value: 'theirs' })] }),
        ],
      }),
      'theme',
      { value: 'theirs' },
    ],
    [
      'CONFIG takes the newest grant, a personal one',
      state({
        grants: [userGrant('theme', { value: 'mine' })],
        organizations: [
          organization('acme', 'team', {
            grants: [orgGrant('acme', 'theme', { value: 'theirs', startsAt: at(-2 * DAY) })],
          }),
        ],
      }),
      'theme',
      { value: 'mine', source: 'GRANT' },
    ],
    // A revoked personal license means nothing at all, seats included.
    [
      'revoked personal license',
      state({ license: { ...defaultLicense('u1'), status: 'REVOKED' }, organizations: [globex] }),
      'sso',
      undefined,
    ],
    // A revoked organization contributes nothing.
    [
      'revoked organization',
      state({ organizations: [organization('acme', 'team', { status: 'REVOKED' })] }),
      'sso',
      undefined,
    ],
    [
      'revoked organization, its grants neither',
      state({
        organizations: [
          organization('acme', 'free', { status: 'REVOKED', grants: [orgGrant('acme', 'audit')] }),
        ],
      }),
      'audit',
      undefined,
    ],
    // An organization grant counts while active only.
    [
      'expired organization grant',
      state({
        organizations: [
          organization('acme', 'free', { grants: [orgGrant('acme', 'audit', { expiresAt: at(-1) })] }),
        ],
      }),
      'audit',
      undefined,
    ],
    [
      'active organization grant, with its end',
      state({
        organizations: [
          organization('acme', 'free', { grants: [orgGrant('acme', 'audit', { expiresAt: at(DAY) })] }),
        ],
      }),
      'audit',
      { source: 'ORGANIZATION', expiresAt: at(DAY) },
    ],
    [
      'revoked organization grant',
      state({
        organizations: [
          organization('acme', 'free', { grants: [orgGrant('acme', 'audit', { revokedAt: at(-1) })] }),
        ],
      }),
      'audit',
      undefined,
    ],
  ])('%s', (_case, s, key, expected) => {
    const entitlement = of(s, key);
    if (expected === undefined) expect(entitlement).toBeUndefined();
    else expect(entitlement).toMatchObject(expected);
  });

  it('with organizationId counts only the own license and that organization', () => {
    const s = state({ organizations: [acme, globex] });
    expect(of(s, 'api', 'acme')).toMatchObject({ limit: 1100, organizations: ['acme'] });
    expect(of(s, 'audit', 'acme')).toBeUndefined();
    expect(of(s, 'audit', 'globex')).toMatchObject({ organizations: ['globex'] });
    expect(of(s, 'sso', 'nowhere')).toBeUndefined();
    expect(of(s, 'api', 'nowhere')).toMatchObject({ limit: 100, organizations: [] });
  });

  it('keeps the own tier as the source when a seat gives the same feature', () => {
    expect(of(state({ organizations: [acme] }), 'theme')).toMatchObject({ source: 'TIER', value: 'blue' });
  });

  it("is the tier's end only when no source covers the feature for good", () => {
    const s = state({
      organizations: [
        organization('acme', 'free', { grants: [orgGrant('acme', 'sso', { expiresAt: at(DAY) })] }),
        acme,
      ],
    });
    expect(of(s, 'sso')?.expiresAt).toBeNull();
  });
});

describe('pooled meters (rule O4)', () => {
  const pool = (organizationId: string, tierKey: string, used: number, grants: Grant[] = []) =>
    organization(organizationId, tierKey, { used: { credits: used }, grants });

  it("counts in the organization's pool: its tier limit plus its grants", () => {
    const s = state({
      organizations: [pool('acme', 'team', 12, [orgGrant('acme', 'credits', { limit: 10 })])],
    });
    expect(of(s, 'credits')).toMatchObject({
      limit: 40,
      used: 12,
      remaining: 28,
      pools: [{ organizationId: 'acme', limit: 40, used: 12 }],
    });
  });

  it('ignores the own tier and grants: only pools fill a pooled feature', () => {
    const withOwnGrant = state({ grants: [userGrant('credits', { limit: 99 })] });
    expect(of(withOwnGrant, 'credits')).toBeUndefined();
  });

  it('lists each pool, sums what they allow, and is unlimited when one is', () => {
    const two = state({ organizations: [pool('acme', 'team', 30), pool('initech', 'team', 5)] });
    expect(of(two, 'credits')).toMatchObject({ limit: 60, used: 35, remaining: 25 });
    expect(allowsUse(of(two, 'credits'))).toBe(true);
    expect(
      usageMeters(effectiveEntitlements(two, NOW), NOW).filter((m) => m.feature.key === 'credits'),
    ).toMatchObject([
      { organizationId: 'acme', used: 30, limit: 30, remaining: 0 },
      { organizationId: 'initech', used: 5, limit: 30, remaining: 25 },
    ]);
    const unlimited = state({ organizations: [pool('acme', 'team', 30), pool('globex', 'enterprise', 7)] });
    expect(of(unlimited, 'credits')).toMatchObject({ limit: null, remaining: null, used: 37 });
  });

  it('chooses the named pool, or the only one, and refuses to guess between two', () => {
    const one = of(state({ organizations: [pool('acme', 'team', 0)] }), 'credits');
    const two = of(
      state({ organizations: [pool('acme', 'team', 0), pool('globex', 'enterprise', 0)] }),
      'credits',
    );
    expect(choosePool(one, null)).toMatchObject({ organizationId: 'acme' });
    expect(choosePool(two, 'globex')).toMatchObject({ organizationId: 'globex', limit: null });
    expect(choosePool(two, 'nowhere')).toBeNull();
    expect(choosePool(undefined, null)).toBeNull();
    expect(() => choosePool(two, null)).toThrow(
      expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field: 'organizationId' } }),
    );
  });
});

describe('overrides over seats (rule V1)', () => {
  const deny = (featureKey: string): Override => ({
    id: `deny-${featureKey}`,
    userId: 'u1',
    featureKey,
    effect: 'DENY',
    limit: null,
    value: null,
    expiresAt: null,
    reason: null,
    createdBy: 'admin',
    createdAt: at(-DAY),
    endedAt: null,
  });
  const seated = (overrides: Override[]) =>
    state({
      organizations: [
        organization('acme', 'team', { used: { credits: 4 } }),
        organization('globex', 'enterprise'),
      ],
      overrides,
    });

  it('DENY wins over every seat, in every view of the identity', () => {
    const s = seated([deny('sso')]);
    expect(of(s, 'sso')).toBeUndefined();
    expect(of(s, 'sso', 'acme')).toBeUndefined();
    expect(of(s, 'sso', 'globex')).toBeUndefined();
  });

  it('DENY of a pooled feature leaves no pool to draw on', () => {
    const s = seated([deny('credits')]);
    expect(of(s, 'credits')).toBeUndefined();
    expect(choosePool(of(s, 'credits'), 'acme')).toBeNull();
    expect(usageMeters(effectiveEntitlements(s, NOW), NOW).map((m) => m.feature.key)).toEqual(['api']);
  });

  it('LIMIT replaces the sum over the own tier and every seat', () => {
    const s = seated([{ ...deny('api'), effect: 'LIMIT', limit: 50 }]);
    expect(of(s, 'api')).toMatchObject({ source: 'OVERRIDE', limit: 50, organizations: ['acme', 'globex'] });
  });

  it('VALUE replaces the highest-ranked tier and the newest organization grant', () => {
    const s = state({
      organizations: [
        organization('globex', 'enterprise', { grants: [orgGrant('globex', 'theme', { value: 'org' })] }),
      ],
      overrides: [{ ...deny('theme'), effect: 'VALUE', value: 'mine' }],
    });
    expect(of(s, 'theme')).toMatchObject({ source: 'OVERRIDE', value: 'mine' });
  });
});

describe("an organization's own entitlements (what one seat gives)", () => {
  it('are its tier and active grants, with pooled usage', () => {
    const acme = organization('acme', 'team', { grants: [orgGrant('acme', 'audit')], used: { credits: 3 } });
    const entitlements = organizationEntitlements(acme, CATALOG, NOW);
    expect(entitlements.map((e) => e.feature.key)).toEqual(['api', 'audit', 'credits', 'sso', 'theme']);
    expect(entitlements.find((e) => e.feature.key === 'api')).toMatchObject({
      limit: 1000,
      used: null,
      source: 'TIER',
    });
    expect(entitlements.find((e) => e.feature.key === 'audit')).toMatchObject({ source: 'GRANT' });
    expect(entitlements.find((e) => e.feature.key === 'credits')).toMatchObject({
      limit: 30,
      used: 3,
      remaining: 27,
    });
  });

  it('are none while its license is revoked', () => {
    expect(
      organizationEntitlements(organization('acme', 'team', { status: 'REVOKED' }), CATALOG, NOW),
    ).toEqual([]);
  });
});
