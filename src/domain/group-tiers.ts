import type { AccessChange } from './access-change';
import { entitlementsChange } from './access-change';
import type { LicenseState } from './effective';
import { effectiveEntitlements, effectiveTier } from './effective';
import type { GroupTier } from './types';
import { MAX_TEXT_LENGTH } from './validation';

/** One member's group tiers with the entry of group `groupId` replaced by `entry` (none: removed). */
export function withGroupEntry(
  groupTiers: readonly GroupTier[],
  groupId: string,
  entry: GroupTier | null,
): GroupTier[] {
  const others = groupTiers.filter((tier) => tier.groupId !== groupId);
  return entry === null ? others : [...others, entry];
}

/** What a TIER_CHANGED for a change of one identity's group tiers says. */
export interface GroupTierChange {
  /** The effective tier (`User.tier`) before and after. */
  fromTierKey: string;
  toTierKey: string;
  accessChange: AccessChange | null;
  reason: string;
}

/**
 * The event a change of an identity's group tiers (rule S4) is recorded as, or null when no group gives another
 * tier than before (a member added to a group without a tier, a group renamed without changing its tier). The
 * reason names each group whose tier changed, then `cause`; whether it took access away is judged on the
 * entitlements before and after, so a subscriber to entitlementRevoked hears of a group tier lost.
 */
export function groupTierChange(
  before: LicenseState,
  after: LicenseState,
  now: Date,
  cause: string,
): GroupTierChange | null {
  const was = new Map((before.groupTiers ?? []).map((entry) => [entry.groupId, entry]));
  const is = new Map((after.groupTiers ?? []).map((entry) => [entry.groupId, entry]));
  const changes: string[] = [];
  for (const [groupId, entry] of is) {
    const previous = was.get(groupId);
    if (!previous) changes.push(`group ${JSON.stringify(entry.group)} gives tier ${entry.tierKey}`);
    else if (previous.tierKey !== entry.tierKey) {
      changes.push(
        `group ${JSON.stringify(entry.group)} gives tier ${entry.tierKey} instead of ${previous.tierKey}`,
      );
    }
  }
  for (const [groupId, entry] of was) {
    if (!is.has(groupId)) {
      changes.push(`group ${JSON.stringify(entry.group)} no longer gives tier ${entry.tierKey}`);
    }
  }
  if (changes.length === 0) return null;
  return {
    fromTierKey: effectiveTier(before, now).key,
    toTierKey: effectiveTier(after, now).key,
    accessChange: entitlementsChange(effectiveEntitlements(before, now), effectiveEntitlements(after, now)),
    reason: fitted(`${changes.join('; ')} (${cause})`),
  };
}

/** Reasons are at most MAX_TEXT_LENGTH characters; a user deleted from many groups names as many as fit. */
function fitted(text: string): string {
  const characters = [...text];
  return characters.length <= MAX_TEXT_LENGTH
    ? text
    : `${characters.slice(0, MAX_TEXT_LENGTH - 1).join('')}…`;
}
