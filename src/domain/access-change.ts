import type { Entitlement, LicenseEvent, LicenseEventType } from './types';

/** Whether an event gave access (entitlementGranted) or took it away (entitlementRevoked). */
export type AccessChange = 'GAINED' | 'LOST';

const GAINED: LicenseEventType[] = [
  'ENTITLEMENT_GRANTED',
  'TRIAL_STARTED',
  'LICENSE_RESTORED',
  'SEAT_ASSIGNED',
  'ORGANIZATION_LICENSE_RESTORED',
];
const LOST: LicenseEventType[] = [
  'ENTITLEMENT_REVOKED',
  'ENTITLEMENT_EXPIRED',
  'TRIAL_ENDED',
  'LICENSE_REVOKED',
  'SEAT_UNASSIGNED',
  'ORGANIZATION_LICENSE_REVOKED',
];
const TIER_CHANGES: LicenseEventType[] = ['TIER_CHANGED', 'ORGANIZATION_LICENSE_CHANGED'];

/**
 * A tier change (a user's, or an organization's license) is an upgrade or a downgrade by rank; between equal
 * ranks it is neither. An organization's first license has no tier before it: a gain.
 */
export function accessChange(event: LicenseEvent, rankOf: (tierKey: string) => number): AccessChange | null {
  if (event.accessChange !== null) return event.accessChange;
  if (GAINED.includes(event.type)) return 'GAINED';
  if (LOST.includes(event.type)) return 'LOST';
  if (event.type === 'ORGANIZATION_LICENSE_CHANGED' && event.fromTierKey === null) return 'GAINED';
  if (TIER_CHANGES.includes(event.type) && event.fromTierKey !== null && event.toTierKey !== null) {
    const from = rankOf(event.fromTierKey);
    const to = rankOf(event.toTierKey);
    if (to > from) return 'GAINED';
    if (to < from) return 'LOST';
  }
  return null;
}

/**
 * What a change did to one feature's entitlement (an override set, removed or run out): LOST when the feature
 * went away or its limit fell, GAINED for the opposite, null otherwise (a value changed, or nothing).
 */
export function entitlementChange(
  before: Entitlement | undefined,
  after: Entitlement | undefined,
): AccessChange | null {
  if (!before && !after) return null;
  if (!after) return 'LOST';
  if (!before) return 'GAINED';
  if (before.feature.kind !== 'METERED' || before.limit === after.limit) return null;
  if (before.limit === null) return 'LOST';
  if (after.limit === null) return 'GAINED';
  return after.limit < before.limit ? 'LOST' : 'GAINED';
}

/**
 * What a change did to a whole set of entitlements (a tier a group gives, gained or lost): LOST when any
 * feature went away or its limit fell, even if others were gained, since that is what a subscriber must act
 * on; GAINED when something was gained and nothing lost; null otherwise.
 */
export function entitlementsChange(before: Entitlement[], after: Entitlement[]): AccessChange | null {
  const afterByFeature = new Map(after.map((entitlement) => [entitlement.feature.key, entitlement]));
  const beforeKeys = new Set(before.map((entitlement) => entitlement.feature.key));
  const changes = [
    ...before.map((entitlement) =>
      entitlementChange(entitlement, afterByFeature.get(entitlement.feature.key)),
    ),
    ...after.filter((entitlement) => !beforeKeys.has(entitlement.feature.key)).map(() => 'GAINED' as const),
  ];
  if (changes.includes('LOST')) return 'LOST';
  return changes.includes('GAINED') ? 'GAINED' : null;
}
