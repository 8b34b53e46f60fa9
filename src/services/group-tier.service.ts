import type { EntityManager } from 'typeorm';

import { assertCanReadEveryone, assertScope } from '../auth/access';
import type { Caller } from '../auth/caller';
import { actorOf, Scope } from '../auth/caller';
import type { Database } from '../db/database';
import { TierRow } from '../db/entities';
import type { LicenseStore } from '../db/license-store';
import type { ScimStore } from '../db/scim-store';
import { groupTierChange, withGroupEntry } from '../domain/group-tiers';
import { caseless, groupNameProblem } from '../domain/scim/resources';
import type { GroupTier } from '../domain/types';
import { checkKey } from '../domain/validation';
import { BadUserInputError, NotFoundError } from '../errors';
import type { LicenseEventLog } from './license-event.service';

/** The directory whose groups give tiers: that of SCIM tokens without an organization. */
export const IDENTITY_DIRECTORY = '';

export interface GroupTierMapping {
  group: string;
  tierKey: string;
  updatedBy: string;
  updatedAt: Date;
}

/** A member's group tiers before and after a change, from those read now (see `recordChanges`). */
export type MemberChange = (
  memberId: string,
  groupTiers: GroupTier[],
) => { before: GroupTier[]; after: GroupTier[] };

/** States are read this many members at a time, however large the group. */
const STATE_BATCH = 1000;

/**
 * Tiers from identity attributes (rule S4): a group name of the identity directory mapped to a tier makes that
 * tier one more source of its members' entitlements. Every change of who has a group's tier (the mapping, or a
 * group's members or name) records one TIER_CHANGED per member it changes, in the change's own transaction.
 */
export class GroupTierService {
  constructor(
    private readonly db: Database,
    private readonly scim: ScimStore,
    private readonly licenses: LicenseStore,
    private readonly events: LicenseEventLog,
  ) {}

  async list(caller: Caller): Promise<GroupTierMapping[]> {
    assertCanReadEveryone(caller, 'group tiers');
    const rows = await this.scim.allGroupTiers(this.db.manager);
    return rows.map(({ groupName, tierKey, updatedBy, updatedAt }) => ({
      group: groupName,
      tierKey,
      updatedBy,
      updatedAt,
    }));
  }

  /**
   * Maps the group name (compared without regard to case, as SCIM does) to `tier`, or removes the mapping
   * (null). Its members' access changes at once, all of them in this one transaction; setting what is already
   * set changes nothing and records nothing.
   */
  async set(caller: Caller, groupInput: string, tierInput: string | null | undefined): Promise<boolean> {
    assertScope(caller, Scope.write);
    const problem = groupNameProblem(groupInput);
    if (problem !== null) throw new BadUserInputError('group', problem);
    const tierKey = tierInput === null || tierInput === undefined ? null : checkKey(tierInput, 'tier');
    const actor = actorOf(caller);
    await this.db.transaction(
      async (manager) => {
        if (tierKey !== null && !(await manager.existsBy(TierRow, { key: tierKey }))) {
          throw new NotFoundError('Tier', tierKey);
        }
        const key = caseless(groupInput);
        const previous = (await this.scim.groupTiers(manager, [key])).get(key)?.tierKey ?? null;
        if (previous === tierKey) return;
        const now = new Date();
        // The mapping is written before the group is read: a group taking this name meanwhile either commits
        // first (and is read here) or reads this mapping when it looks for its own (see ScimService).
        if (tierKey === null) await this.scim.deleteGroupTier(manager, key);
        else {
          await this.scim.putGroupTier(manager, {
            groupKey: key,
            groupName: groupInput,
            tierKey,
            updatedBy: actor,
            updatedAt: now,
          });
        }
        const group = await this.scim.groupNamed(manager, IDENTITY_DIRECTORY, key, true);
        if (!group) return;
        const entry = (tier: string | null) =>
          tier === null ? null : { groupId: group.id, group: group.displayName, tierKey: tier };
        await this.recordChanges(manager, group.memberIds, actor, 'setGroupTier', now, (_member, tiers) => ({
          before: withGroupEntry(tiers, group.id, entry(previous)),
          after: withGroupEntry(tiers, group.id, entry(tierKey)),
        }));
      },
      { readCommitted: true },
    );
    return true;
  }

  /**
   * Records a TIER_CHANGED for each of these SCIM Users (of the identity directory) whose group tiers `change`
   * changes: fromTier and toTier are its effective tier before and after, the reason names the groups and
   * `cause`. Their licenses are locked first, so the events agree with every other change to them. `change`
   * is given the group tiers as read now, which may or may not include the caller's own writes: it says both
   * sides of what it changes.
   */
  async recordChanges(
    manager: EntityManager,
    memberIds: string[],
    actor: string,
    cause: string,
    now: Date,
    change: MemberChange,
  ): Promise<void> {
    if (memberIds.length === 0) return;
    const subjects = await this.scim.subjects(manager, memberIds);
    await this.licenses.holdAll(manager, [...subjects.values()], now);
    for (let start = 0; start < memberIds.length; start += STATE_BATCH) {
      const batch = memberIds.slice(start, start + STATE_BATCH).filter((id) => subjects.has(id));
      const states = await this.licenses.states(
        manager,
        batch.map((id) => subjects.get(id)!),
        now,
      );
      for (const memberId of batch) {
        const userId = subjects.get(memberId)!;
        const state = states.get(userId)!;
        const { before, after } = change(memberId, state.groupTiers ?? []);
        const event = groupTierChange(
          { ...state, groupTiers: before },
          { ...state, groupTiers: after },
          now,
          cause,
        );
        if (event) {
          await this.events.record(manager, { type: 'TIER_CHANGED', userId, actor, ...event }, now);
        }
      }
    }
  }
}
