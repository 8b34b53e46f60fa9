import type { LicenseState } from '../../src/domain/effective';
import { defaultLicense, viewLicense } from '../../src/domain/effective';
import type { LicenseTokenClaims } from '../../src/domain/license-token';
import { claimsChangeAt, licenseTokenClaims } from '../../src/domain/license-token';
import type { Feature, Grant, JsonValue, License, Tier } from '../../src/domain/types';
import { feature } from '../testkit/domain-fixtures';

const NOW = new Date('2026-06-15T12:00:00.250Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (ms: number) => new Date(NOW.getTime() + ms);

const API = feature('api', 'METERED');
const EXPORT = feature('export', 'BOOLEAN');
const THEME = feature('theme', 'CONFIG');
const SSO = feature('sso', 'BOOLEAN');

const tier = (key: string, entries: [Feature, number | null, JsonValue][]): Tier => ({
  key,
  name: key,
  rank: 0,
  entitlements: entries.map(([f, limit, value]) => ({ feature: f, limit, value })),
});
const BASIC = tier('basic', [
  [API, 100, null],
  [THEME, null, { color: 'grey' }],
]);
const TEAM = tier('team', [
  [API, null, null],
  [EXPORT, null, null],
  [THEME, null, { color: 'blue' }],
]);

function grant(featureKey: string, fields: Partial<Grant> = {}): Grant {
  return {
    id: `g-${featureKey}-${fields.expiresAt?.getTime() ?? 'never'}`,
    userId: 'alice',
    organizationId: null,
    featureKey,
    limit: null,
    value: null,
    startsAt: at(-HOUR),
    expiresAt: null,
    revokedAt: null,
    revokeReason: null,
    grantedBy: 'admin',
    reason: null,
    createdAt: at(-HOUR),
    ...fields,
  };
}

function view(license: Partial<License> = {}, grants: Grant[] = [], used: [string, number][] = []) {
  const state: LicenseState = {
    license: { ...defaultLicense('alice'), ...license },
    grants,
    catalog: {
      features: new Map([API, EXPORT, THEME, SSO].map((f) => [f.key, f])),
      tiers: new Map([BASIC, TEAM].map((t) => [t.key, t])),
    },
    defaultTier: 'basic',
    usedByFeature: new Map(used),
  };
  return viewLicense(state, NOW);
}

const OPTIONS = { issuer: 'entitlements-subgraph', audience: null, ttlSeconds: 3600, jti: 'j-1' };

describe('licenseTokenClaims', () => {
  type Licensing = Pick<LicenseTokenClaims, 'tier' | 'status' | 'entitlements'>;
  it.each<[string, ReturnType<typeof view>, Licensing]>([
    [
      'the default tier: a metered limit with what remains, a config value',
      view({}, [], [['api', 30]]),
      {
        tier: 'basic',
        status: 'ACTIVE',
        entitlements: {
          api: { kind: 'METERED', limit: 100, remaining: 70 },
          theme: { kind: 'CONFIG', value: { color: 'grey' } },
        },
      },
    ],
    [
      'unlimited is a null limit and remaining; a boolean has its kind alone',
      view({ baseTierKey: 'team' }),
      {
        tier: 'team',
        status: 'ACTIVE',
        entitlements: {
          api: { kind: 'METERED', limit: null, remaining: null },
          export: { kind: 'BOOLEAN' },
          theme: { kind: 'CONFIG', value: { color: 'blue' } },
        },
      },
    ],
    [
      'a grant adds its feature, its limit and its value',
      view({}, [grant('sso'), grant('api', { limit: 50 }), grant('theme', { value: 'dark' })]),
      {
        tier: 'basic',
        status: 'ACTIVE',
        entitlements: {
          api: { kind: 'METERED', limit: 150, remaining: 150 },
          sso: { kind: 'BOOLEAN' },
          theme: { kind: 'CONFIG', value: 'dark' },
        },
      },
    ],
    [
      'a revoked license: its status and tier, no entitlements',
      view({ status: 'REVOKED', revokedAt: at(-MINUTE) }, [grant('sso')]),
      { tier: 'basic', status: 'REVOKED', entitlements: {} },
    ],
    [
      'a running trial: the trial tier',
      view({ trial: { tierKey: 'team', startedAt: at(-HOUR), endsAt: at(10 * 24 * HOUR) } }),
      {
        tier: 'team',
        status: 'ACTIVE',
        entitlements: {
          api: { kind: 'METERED', limit: null, remaining: null },
          export: { kind: 'BOOLEAN' },
          theme: { kind: 'CONFIG', value: { color: 'blue' } },
        },
      },
    ],
  ])('%s', (_name, licenseView, expected) => {
    const { tier: tierKey, status, entitlements } = licenseTokenClaims(licenseView, OPTIONS);
    // toEqual: nothing that does not apply may be there, not even as undefined.
    expect({ tier: tierKey, status, entitlements }).toEqual(expected);
    for (const entitlement of Object.values(entitlements)) {
      expect(Object.values(entitlement)).not.toContain(undefined);
    }
  });

  it('carries the registered claims, with aud only when asked', () => {
    const claims = licenseTokenClaims(view(), OPTIONS);
    expect(claims).toMatchObject({
      iss: 'entitlements-subgraph',
      sub: 'alice',
      iat: NOW_SECONDS,
      exp: NOW_SECONDS + 3600,
      jti: 'j-1',
    });
    expect(claims).not.toHaveProperty('aud');
    expect(licenseTokenClaims(view(), { ...OPTIONS, audience: 'billing-api' }).aud).toBe('billing-api');
  });

  it.each<[string, ReturnType<typeof view>, number]>([
    ['nothing ends: now + ttl', view(), 3600],
    [
      'a grant of its own feature ends in two minutes',
      view({}, [grant('sso', { expiresAt: at(2 * MINUTE) })]),
      120,
    ],
    [
      'a grant that raises a limit ends (the feature stays, its limit drops)',
      view({}, [grant('api', { limit: 50, expiresAt: at(5 * MINUTE) })]),
      300,
    ],
    [
      'the trial ends (the tier claim changes even where the entitlements would not)',
      view({
        baseTierKey: 'team',
        trial: { tierKey: 'team', startedAt: at(-HOUR), endsAt: at(20 * MINUTE) },
      }),
      1200,
    ],
    ['an end after the ttl does not matter', view({}, [grant('sso', { expiresAt: at(2 * HOUR) })]), 3600],
    [
      'a grant that starts later does not shorten it',
      view({}, [grant('sso', { startsAt: at(MINUTE), expiresAt: at(2 * MINUTE) })]),
      3600,
    ],
    [
      'the earliest of several ends',
      view({}, [
        grant('sso', { expiresAt: at(30 * MINUTE) }),
        grant('export', { expiresAt: at(10 * MINUTE) }),
      ]),
      600,
    ],
  ])('exp: %s', (_name, licenseView, seconds) => {
    // Rounded down to the second from NOW (which is 250 ms past one): never later than the end.
    expect(licenseTokenClaims(licenseView, OPTIONS).exp).toBe(
      Math.floor((NOW.getTime() + seconds * 1000) / 1000),
    );
  });

  it('is cut by a shorter ttl', () => {
    const licenseView = view({}, [grant('sso', { expiresAt: at(2 * MINUTE) })]);
    expect(licenseTokenClaims(licenseView, { ...OPTIONS, ttlSeconds: 60 }).exp).toBe(NOW_SECONDS + 60);
  });
});

describe('claimsChangeAt', () => {
  it('is null when nothing in the view ends', () => {
    expect(claimsChangeAt(view({ baseTierKey: 'team' }))).toBeNull();
  });

  it("is a BOOLEAN entitlement's own end, however many grants it goes through", () => {
    const licenseView = view({}, [
      grant('sso', { expiresAt: at(HOUR) }),
      grant('sso', { startsAt: at(HOUR), expiresAt: at(2 * HOUR) }),
    ]);
    expect(claimsChangeAt(licenseView)).toEqual(at(2 * HOUR));
  });

  it('is the end of a grant that shapes a limit or a value, though the entitlement goes on', () => {
    const limit = view({}, [grant('api', { limit: 50, expiresAt: at(HOUR) })]);
    expect(limit.entitlements.find((e) => e.feature.key === 'api')?.expiresAt).toBeNull();
    expect(claimsChangeAt(limit)).toEqual(at(HOUR));
    expect(claimsChangeAt(view({}, [grant('theme', { value: 'dark', expiresAt: at(HOUR) })]))).toEqual(
      at(HOUR),
    );
  });
});
