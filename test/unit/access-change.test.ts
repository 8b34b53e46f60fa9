import { accessChange, entitlementChange } from '../../src/domain/access-change';
import type { Entitlement, LicenseEvent } from '../../src/domain/types';
import { entitlement, feature } from '../testkit/domain-fixtures';

/** Which pushes an event reaches: entitlementGranted (GAINED), entitlementRevoked (LOST), or neither. */

const API = feature('api', 'METERED');
const SSO = feature('sso', 'BOOLEAN');
const THEME = feature('theme', 'CONFIG');

const limited = (limit: number | null) => entitlement(API, { limit, used: 0, remaining: limit });

describe("entitlementChange (an override's effect on one feature, rule V2)", () => {
  it.each<[string, Entitlement | undefined, Entitlement | undefined, 'GAINED' | 'LOST' | null]>([
    ['a feature taken away (DENY)', entitlement(SSO), undefined, 'LOST'],
    ['a metered feature taken away', limited(100), undefined, 'LOST'],
    [
      'a feature given (LIMIT or VALUE where nothing gave it, a DENY removed)',
      undefined,
      entitlement(THEME),
      'GAINED',
    ],
    ['nothing before or after (a DENY of what nothing gives)', undefined, undefined, null],
    ['a limit lowered', limited(100), limited(20), 'LOST'],
    ['a limit raised', limited(20), limited(100), 'GAINED'],
    ['an unlimited meter limited', limited(null), limited(1000), 'LOST'],
    ['a limited meter made unlimited', limited(1000), limited(null), 'GAINED'],
    ['the same limit', limited(50), limited(50), null],
    [
      'a CONFIG value changed',
      entitlement(THEME, { value: 'grey' }),
      entitlement(THEME, { value: 'dark' }),
      null,
    ],
    ['a BOOLEAN still given', entitlement(SSO), entitlement(SSO, { source: 'OVERRIDE' }), null],
  ])('%s', (_case, before, after, change) => {
    expect(entitlementChange(before, after)).toBe(change);
  });
});

describe('accessChange', () => {
  const event = (extra: Partial<LicenseEvent>): LicenseEvent => ({
    id: '1',
    type: 'OVERRIDE_SET',
    userId: 'u1',
    organizationId: null,
    featureKey: 'api',
    grantId: null,
    fromTierKey: null,
    toTierKey: null,
    actor: 'admin',
    reason: null,
    threshold: null,
    accessChange: null,
    occurredAt: new Date(0),
    ...extra,
  });
  const rankOf = () => 0;

  it("takes the change the service stored with an override's event", () => {
    expect(accessChange(event({ accessChange: 'LOST' }), rankOf)).toBe('LOST');
    expect(accessChange(event({ type: 'OVERRIDE_EXPIRED', accessChange: 'GAINED' }), rankOf)).toBe('GAINED');
    expect(accessChange(event({ type: 'OVERRIDE_REMOVED' }), rankOf)).toBeNull();
  });

  it('gives usage alerts to licenseEvents only', () => {
    expect(accessChange(event({ type: 'USAGE_THRESHOLD_REACHED', threshold: 80 }), rankOf)).toBeNull();
    expect(accessChange(event({ type: 'USAGE_LIMIT_REACHED' }), rankOf)).toBeNull();
  });
});
