import { randomUUID } from 'node:crypto';

import type { EntityManager } from 'typeorm';

import { assertScope } from '../auth/access';
import type { Caller } from '../auth/caller';
import { actorOf, Scope, SYSTEM_ACTOR } from '../auth/caller';
import type { Database } from '../db/database';
import { FeatureRow, OverrideRow } from '../db/entities';
import type { LicenseStore } from '../db/license-store';
import { toFeature, toOverride } from '../db/mappers';
import { entitlementChange } from '../domain/access-change';
import type { LicenseState } from '../domain/effective';
import { effectiveEntitlements, isOverrideActive } from '../domain/effective';
import type { JsonValue, Override, OverrideEffect } from '../domain/types';
import {
  checkDate,
  checkFutureDate,
  checkJsonValue,
  checkKey,
  checkLimit,
  checkOverrideFits,
  checkText,
  checkUserId,
} from '../domain/validation';
import { NotFoundError } from '../errors';
import type { LicenseEventLog } from './license-event.service';

export interface SetOverrideInput {
  userId: string;
  feature: string;
  effect: OverrideEffect;
  limit?: number | null;
  value?: JsonValue;
  expiresAt?: Date | null;
  reason?: string | null;
}

/**
 * Overrides (rules V1, V2): an admin's adjustment of one feature for one identity, applied after every other
 * source. Each change locks the identity's license, like every other change to it, so usage decisions and
 * overrides never interleave; its event says whether it took access away or gave it back, judged on the
 * entitlement before and after.
 */
export class OverrideService {
  constructor(
    private readonly db: Database,
    private readonly store: LicenseStore,
    private readonly events: LicenseEventLog,
  ) {}

  /** Replaces the user's active override of the feature, if any; one OVERRIDE_SET. */
  async set(caller: Caller, input: SetOverrideInput): Promise<Override> {
    assertScope(caller, Scope.write);
    const userId = checkUserId(input.userId);
    const featureKey = checkKey(input.feature, 'feature');
    const limit = checkLimit(input.limit);
    const value = checkJsonValue(input.value);
    const expiresAt = input.expiresAt
      ? checkFutureDate(checkDate(input.expiresAt, 'expiresAt'), 'expiresAt', new Date())
      : null;
    const reason = checkText(input.reason, 'reason');
    return this.db.transaction(async (manager) => {
      // Locked: a change of the feature's kind waits for this one.
      const feature = await manager.findOne(FeatureRow, {
        where: { key: featureKey },
        lock: this.db.writeLock,
      });
      if (!feature) throw new NotFoundError('Feature', featureKey);
      checkOverrideFits(toFeature(feature), { effect: input.effect, limit, value });
      const { state, now } = await this.lockedState(manager, userId);
      // Judged again at the time it would start: the lock may have been waited for past it.
      if (expiresAt) checkFutureDate(expiresAt, 'expiresAt', now);
      const override: Override = {
        id: randomUUID(),
        userId,
        featureKey,
        effect: input.effect,
        limit,
        value,
        expiresAt,
        reason,
        createdBy: actorOf(caller),
        createdAt: now,
        endedAt: null,
      };
      const previous = activeOverride(state, featureKey, now);
      if (previous) await this.end(manager, previous, now);
      await manager.insert(OverrideRow, { ...override, value: value as never, expiryRecordedAt: null });
      await this.record(manager, 'OVERRIDE_SET', override, caller, state, withOverride(state, override), now);
      return override;
    });
  }

  /** Ends the user's active override of the feature (NOT_FOUND without one); one OVERRIDE_REMOVED. */
  async remove(
    caller: Caller,
    userIdInput: string,
    featureInput: string,
    reasonInput?: string | null,
  ): Promise<Override> {
    assertScope(caller, Scope.write);
    const userId = checkUserId(userIdInput);
    const featureKey = checkKey(featureInput, 'feature');
    const reason = checkText(reasonInput, 'reason');
    return this.db.transaction(async (manager) => {
      const { state, now } = await this.lockedState(manager, userId);
      const override = activeOverride(state, featureKey, now);
      if (!override) throw new NotFoundError('Active override', `${userId}/${featureKey}`);
      await this.end(manager, override, now);
      await this.record(
        manager,
        'OVERRIDE_REMOVED',
        { ...override, reason },
        caller,
        state,
        withoutOverride(state, override),
        now,
      );
      return { ...override, endedAt: now };
    });
  }

  /**
   * Records OVERRIDE_EXPIRED for an override that ran out (the expiry sweeper, exactly once: the caller has
   * claimed the row). The license is read, not locked: a change to it takes its lock before an override row,
   * and the sweeper holds the override row already.
   */
  async recordExpiry(manager: EntityManager, row: OverrideRow, now: Date): Promise<void> {
    const override = toOverride(row);
    const state = (await this.store.states(manager, [override.userId], now)).get(override.userId)!;
    await manager.update(OverrideRow, { id: override.id }, { expiryRecordedAt: now });
    // Judged as at its expiry: an override of the feature set since then (which this one did not end) is left out.
    const stillOn = withOverride(state, { ...override, expiresAt: null });
    const ranOut = withoutOverride(state, override);
    await this.events.record(
      manager,
      {
        type: 'OVERRIDE_EXPIRED',
        userId: override.userId,
        featureKey: override.featureKey,
        actor: SYSTEM_ACTOR,
        accessChange: entitlementChange(
          entitlementOf(stillOn, override.featureKey, now),
          entitlementOf(ranOut, override.featureKey, now),
        ),
      },
      override.expiresAt!,
    );
  }

  /**
   * The user's state under its license's lock, and the time it is judged at: taken once the lock is held, so an
   * override that ran out while this waited counts as expired (the sweeper's), not as replaced or removed.
   */
  private async lockedState(
    manager: EntityManager,
    userId: string,
  ): Promise<{ state: LicenseState; now: Date }> {
    await this.store.hold(manager, userId, new Date());
    const now = new Date();
    return { state: (await this.store.states(manager, [userId], now)).get(userId)!, now };
  }

  private async end(manager: EntityManager, override: Override, now: Date): Promise<void> {
    await manager.update(OverrideRow, { id: override.id }, { endedAt: now });
  }

  private async record(
    manager: EntityManager,
    type: 'OVERRIDE_SET' | 'OVERRIDE_REMOVED',
    override: Override,
    caller: Caller,
    before: LicenseState,
    after: LicenseState,
    now: Date,
  ): Promise<void> {
    await this.events.record(
      manager,
      {
        type,
        userId: override.userId,
        featureKey: override.featureKey,
        actor: actorOf(caller),
        reason: override.reason,
        accessChange: entitlementChange(
          entitlementOf(before, override.featureKey, now),
          entitlementOf(after, override.featureKey, now),
        ),
      },
      now,
    );
  }
}

function activeOverride(state: LicenseState, featureKey: string, now: Date): Override | undefined {
  return state.overrides?.find(
    (override) => override.featureKey === featureKey && isOverrideActive(override, now),
  );
}

/** The state with `override` in force for its feature (in place of any other override of that feature). */
function withOverride(state: LicenseState, override: Override): LicenseState {
  const others = withoutOverride(state, override);
  return { ...others, overrides: [...(others.overrides ?? []), override] };
}

function withoutOverride(state: LicenseState, override: Pick<Override, 'featureKey'>): LicenseState {
  return { ...state, overrides: (state.overrides ?? []).filter((o) => o.featureKey !== override.featureKey) };
}

function entitlementOf(state: LicenseState, featureKey: string, now: Date) {
  return effectiveEntitlements(state, now).find((entitlement) => entitlement.feature.key === featureKey);
}
