import type { LicenseState } from '../../src/domain/effective';
import {
  allowsUse,
  defaultLicense,
  effectiveEntitlements,
  organizationEntitlements,
  usageMeters,
} from '../../src/domain/effective';
import type { Entitlement, Grant, Override } from '../../src/domain/types';
import { choosePool } from '../../src/domain/usage';
import {
  at,
  CATALOG,
  DAY,
  entitlementOf,
  grant,
  licenseState as state,
  NOW,
  organizationGrant,
  override,
  seatIn,
} from '../testkit/domain-fixtures';

/** Rule O3 (effective entitlements over every source) and O4 (pooled meters), without a database. */

describe('effective entitlements over every source (rule O3)', () => {
  const acme = seatIn('acme', 'pro');
  const globex = seatIn('globex', 'enterprise');

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
      state({ grants: [grant('sso')], organizations: [acme] }),
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
        organizations: [seatIn('acme', 'pro', { grants: [organizationGrant('acme', 'api', { limit: 5 })] })],
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
        grants: [grant('theme', { value: 'mine', startsAt: at(-2 * DAY) })],
        organizations: [
          seatIn('acme', 'pro', { grants: [organizationGrant('acme', 'theme', { value: 'theirs' })] }),
        ],
      }),
      'theme',
      { value: 'theirs' },
    ],
    [
      'CONFIG takes the newest grant, a personal one',
      state({
        grants: [grant('theme', { value: 'mine' })],
        organizations: [
          seatIn('acme', 'pro', {
            grants: [organizationGrant('acme', 'theme', { value: 'theirs', startsAt: at(-2 * DAY) })],
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
      state({ organizations: [seatIn('acme', 'pro', { status: 'REVOKED' })] }),
      'sso',
      undefined,
    ],
    [
      'revoked organization, its grants neither',
      state({
        organizations: [
          seatIn('acme', 'free', { status: 'REVOKED', grants: [organizationGrant('acme', 'audit')] }),
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
          seatIn('acme', 'free', { grants: [organizationGrant('acme', 'audit', { expiresAt: at(-1) })] }),
        ],
      }),
      'audit',
      undefined,
    ],
    [
      'active organization grant, with its end',
      state({
        organizations: [
          seatIn('acme', 'free', { grants: [organizationGrant('acme', 'audit', { expiresAt: at(DAY) })] }),
        ],
      }),
      'audit',
      { source: 'ORGANIZATION', expiresAt: at(DAY) },
    ],
    [
      'revoked organization grant',
      state({
        organizations: [
          seatIn('acme', 'free', { grants: [organizationGrant('acme', 'audit', { revokedAt: at(-1) })] }),
        ],
      }),
      'audit',
      undefined,
    ],
  ])('%s', (_case, s, key, expected) => {
    const entitlement = entitlementOf(s, key);
    if (expected === undefined) expect(entitlement).toBeUndefined();
    else expect(entitlement).toMatchObject(expected);
  });

  it('with organizationId counts only the own license and that organization', () => {
    const s = state({ organizations: [acme, globex] });
    expect(entitlementOf(s, 'api', 'acme')).toMatchObject({ limit: 1100, organizations: ['acme'] });
    expect(entitlementOf(s, 'audit', 'acme')).toBeUndefined();
    expect(entitlementOf(s, 'audit', 'globex')).toMatchObject({ organizations: ['globex'] });
    expect(entitlementOf(s, 'sso', 'nowhere')).toBeUndefined();
    expect(entitlementOf(s, 'api', 'nowhere')).toMatchObject({ limit: 100, organizations: [] });
  });

  it('keeps the own tier as the source when a seat gives the same feature', () => {
    expect(entitlementOf(state({ organizations: [acme] }), 'theme')).toMatchObject({
      source: 'TIER',
      value: 'blue',
    });
  });

  it("is the tier's end only when no source covers the feature for good", () => {
    const s = state({
      organizations: [
        seatIn('acme', 'free', { grants: [organizationGrant('acme', 'sso', { expiresAt: at(DAY) })] }),
        acme,
      ],
    });
    expect(entitlementOf(s, 'sso')?.expiresAt).toBeNull();
  });
});

describe('pooled meters (rule O4)', () => {
  const pool = (organizationId: string, tierKey: string, used: number, grants: Grant[] = []) =>
    seatIn(organizationId, tierKey, { used: { credits: used }, grants });

  it("counts in the organization's pool: its tier limit plus its grants", () => {
    const s = state({
      organizations: [pool('acme', 'pro', 12, [organizationGrant('acme', 'credits', { limit: 10 })])],
    });
    expect(entitlementOf(s, 'credits')).toMatchObject({
      limit: 40,
      used: 12,
      remaining: 28,
      pools: [{ organizationId: 'acme', limit: 40, used: 12 }],
    });
  });

  it('ignores the own tier and grants: only pools fill a pooled feature', () => {
    const withOwnGrant = state({ grants: [grant('credits', { limit: 99 })] });
    expect(entitlementOf(withOwnGrant, 'credits')).toBeUndefined();
  });

  it('lists each pool, sums what they allow, and is unlimited when one is', () => {
    const two = state({ organizations: [pool('acme', 'pro', 30), pool('initech', 'pro', 5)] });
    expect(entitlementOf(two, 'credits')).toMatchObject({ limit: 60, used: 35, remaining: 25 });
    expect(allowsUse(entitlementOf(two, 'credits'))).toBe(true);
    expect(
      usageMeters(effectiveEntitlements(two, NOW), NOW).filter((m) => m.feature.key === 'credits'),
    ).toMatchObject([
      { organizationId: 'acme', used: 30, limit: 30, remaining: 0 },
      { organizationId: 'initech', used: 5, limit: 30, remaining: 25 },
    ]);
    const unlimited = state({ organizations: [pool('acme', 'pro', 30), pool('globex', 'enterprise', 7)] });
    expect(entitlementOf(unlimited, 'credits')).toMatchObject({ limit: null, remaining: null, used: 37 });
  });

  it('chooses the named pool, or the only one, and refuses to guess between two', () => {
    const one = entitlementOf(state({ organizations: [pool('acme', 'pro', 0)] }), 'credits');
    const two = entitlementOf(
      state({ organizations: [pool('acme', 'pro', 0), pool('globex', 'enterprise', 0)] }),
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
  const deny = (featureKey: string) => override(featureKey, 'DENY');
  const seated = (overrides: Override[]) =>
    state({
      organizations: [seatIn('acme', 'pro', { used: { credits: 4 } }), seatIn('globex', 'enterprise')],
      overrides,
    });

  it('DENY wins over every seat, in every view of the identity', () => {
    const s = seated([deny('sso')]);
    expect(entitlementOf(s, 'sso')).toBeUndefined();
    expect(entitlementOf(s, 'sso', 'acme')).toBeUndefined();
    expect(entitlementOf(s, 'sso', 'globex')).toBeUndefined();
  });

  it('DENY of a pooled feature leaves no pool to draw on', () => {
    const s = seated([deny('credits')]);
    expect(entitlementOf(s, 'credits')).toBeUndefined();
    expect(choosePool(entitlementOf(s, 'credits'), 'acme')).toBeNull();
    expect(usageMeters(effectiveEntitlements(s, NOW), NOW).map((m) => m.feature.key)).toEqual(['api']);
  });

  it('LIMIT replaces the sum over the own tier and every seat', () => {
    const s = seated([{ ...deny('api'), effect: 'LIMIT', limit: 50 }]);
    expect(entitlementOf(s, 'api')).toMatchObject({
      source: 'OVERRIDE',
      limit: 50,
      organizations: ['acme', 'globex'],
    });
  });

  it('VALUE replaces the highest-ranked tier and the newest organization grant', () => {
    const s = state({
      organizations: [
        seatIn('globex', 'enterprise', { grants: [organizationGrant('globex', 'theme', { value: 'org' })] }),
      ],
      overrides: [{ ...deny('theme'), effect: 'VALUE', value: 'mine' }],
    });
    expect(entitlementOf(s, 'theme')).toMatchObject({ source: 'OVERRIDE', value: 'mine' });
  });
});

describe("an organization's own entitlements (what one seat gives)", () => {
  it('are its tier and active grants, with pooled usage', () => {
    const acme = seatIn('acme', 'pro', {
      grants: [organizationGrant('acme', 'audit')],
      used: { credits: 3 },
    });
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
    expect(organizationEntitlements(seatIn('acme', 'pro', { status: 'REVOKED' }), CATALOG, NOW)).toEqual([]);
  });
});
