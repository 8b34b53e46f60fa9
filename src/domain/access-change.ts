import type { LicenseEvent, LicenseEventType } from './types';

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
