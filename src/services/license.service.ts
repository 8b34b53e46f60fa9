import { randomUUID } from 'node:crypto';

import { In } from 'typeorm';
import type { EntityManager } from 'typeorm';

import { assertAuthenticated, assertCanReadUser, assertScope, canReadUser } from '../auth/access';
import { actorOf, Scope } from '../auth/caller';
import type { Caller } from '../auth/caller';
import type { Database } from '../db/database';
import { FeatureRow, GrantRow, LicenseRow, TierRow } from '../db/entities';
import { toFeature, toGrant, toGrantRow, toLicense } from '../db/mappers';
import {
  baseTierKey,
  defaultLicense,
  effectiveTierKey,
  isTrialActive,
  viewLicense,
} from '../domain/effective';
import type { LicenseView } from '../domain/effective';
import { groupBy } from '../domain/group-by';
import type { Catalog, Grant, JsonValue } from '../domain/types';
import {
  checkDate,
  checkFitsKind,
  checkFutureDate,
  checkGrantWindow,
  checkJsonValue,
  checkKey,
  checkLimit,
  checkRequiredText,
  checkText,
  checkUserId,
  userIdProblem,
} from '../domain/validation';
import { BadUserInputError, NotFoundError } from '../errors';
import type { LicenseEventLog, NewLicenseEvent } from './license-event.service';

export interface GrantInput {
  userId: string;
  feature: string;
  limit?: number | null;
  value?: JsonValue;
  startsAt?: Date | null;
  expiresAt?: Date | null;
  reason?: string | null;
}

/** What a license change decided: the event to record, or null when there was nothing to change. */
type LicenseChange = NewLicenseEvent | null;

/**
 * Licenses and grants. Each change is one transaction that locks the user's license row (so changes to
 * one identity are serialized), writes the new state and records its event; a no-op records nothing.
 */
export class LicenseService {
  constructor(
    private readonly db: Database,
    private readonly events: LicenseEventLog,
    private readonly defaultTier: string,
  ) {}

  /**
   * The license views of many users in two statements, in the order asked. An invalid id gets its own
   * error so that one bad entity reference does not fail the whole batch.
   */
  async view(caller: Caller, userIds: readonly string[], catalog: Catalog): Promise<(LicenseView | Error)[]> {
    const valid = [...new Set(userIds.filter((id) => userIdProblem(id) === null && canReadUser(caller, id)))];
    const now = new Date();
    const [licenseRows, grantRows] =
      valid.length === 0
        ? [[], []]
        : await Promise.all([
            this.db.manager.findBy(LicenseRow, { userId: In(valid) }),
            this.db.manager
              .createQueryBuilder(GrantRow, 'grant')
              .where('grant.user_id IN (:...valid)', { valid })
              .andWhere('grant.revoked_at IS NULL')
              .andWhere('(grant.expires_at IS NULL OR grant.expires_at > :now)', { now })
              .getMany(),
          ]);
    const licenses = new Map(licenseRows.map((row) => [row.userId, toLicense(row)]));
    const grantsByUser = groupBy(grantRows.map(toGrant), (grant) => grant.userId);

    return userIds.map((userId) => {
      const problem = userIdProblem(userId);
      if (problem !== null) return new BadUserInputError('id', problem);
      const denied = accessProblem(() => assertCanReadUser(caller, userId));
      if (denied) return denied;
      return viewLicense(
        {
          license: licenses.get(userId) ?? defaultLicense(userId),
          grants: grantsByUser.get(userId) ?? [],
          catalog,
          defaultTier: this.defaultTier,
        },
        now,
      );
    });
  }

  async grantsByIds(caller: Caller, ids: readonly string[]): Promise<(Grant | Error | null)[]> {
    assertAuthenticated(caller);
    const rows = await this.db.manager.findBy(GrantRow, { id: In([...ids]) });
    const byId = new Map(rows.map((row) => [row.id, toGrant(row)]));
    return ids.map((id) => {
      const grant = byId.get(id);
      if (!grant) return null;
      return accessProblem(() => assertCanReadUser(caller, grant.userId)) ?? grant;
    });
  }

  async grantEntitlement(caller: Caller, input: GrantInput): Promise<Grant> {
    assertScope(caller, Scope.write);
    const now = new Date();
    const userId = checkUserId(input.userId);
    const featureKey = checkKey(input.feature, 'feature');
    const limit = checkLimit(input.limit);
    const value = checkJsonValue(input.value);
    const reason = checkText(input.reason, 'reason');
    const startsAt = checkDate(input.startsAt ?? now, 'startsAt');
    const expiresAt = input.expiresAt ? checkDate(input.expiresAt, 'expiresAt') : null;
    checkGrantWindow(startsAt, expiresAt, now);

    return this.db.transaction(async (manager) => {
      const feature = await manager.findOneBy(FeatureRow, { key: featureKey });
      if (!feature) throw new NotFoundError('Feature', featureKey);
      checkFitsKind(toFeature(feature), { limit, value });
      await this.lockLicense(manager, userId, now);
      const grant: Grant = {
        id: randomUUID(),
        userId,
        featureKey,
        limit,
        value,
        startsAt,
        expiresAt,
        revokedAt: null,
        revokeReason: null,
        grantedBy: actorOf(caller),
        reason,
        createdAt: now,
      };
      await manager.insert(GrantRow, toGrantRow(grant));
      await this.events.record(
        manager,
        {
          type: 'ENTITLEMENT_GRANTED',
          userId,
          featureKey,
          grantId: grant.id,
          actor: grant.grantedBy,
          reason,
        },
        now,
      );
      return grant;
    });
  }

  /** Revoking an already revoked grant returns it unchanged. */
  async revokeEntitlement(caller: Caller, grantId: string, reasonInput?: string | null): Promise<Grant> {
    assertScope(caller, Scope.write);
    const reason = checkText(reasonInput, 'reason');
    return this.db.transaction(async (manager) => {
      const found = await manager.findOneBy(GrantRow, { id: grantId });
      if (!found) throw new NotFoundError('Grant', grantId);
      const now = new Date();
      await this.lockLicense(manager, found.userId, now);
      const grant = await manager.findOneOrFail(GrantRow, {
        where: { id: grantId },
        lock: this.db.writeLock,
      });
      if (grant.revokedAt !== null) return toGrant(grant);

      grant.revokedAt = now;
      grant.revokeReason = reason;
      await manager.update(GrantRow, { id: grantId }, { revokedAt: now, revokeReason: reason });
      await this.events.record(
        manager,
        {
          type: 'ENTITLEMENT_REVOKED',
          userId: grant.userId,
          featureKey: grant.featureKey,
          grantId,
          actor: actorOf(caller),
          reason,
        },
        now,
      );
      return toGrant(grant);
    });
  }

  /** Moves the base tier; upgrades and downgrades take effect at once. */
  async changeTier(
    caller: Caller,
    userIdInput: string,
    tierInput: string,
    reasonInput?: string | null,
  ): Promise<void> {
    assertScope(caller, Scope.write);
    const userId = checkUserId(userIdInput);
    const tierKey = checkKey(tierInput, 'tier');
    const reason = checkText(reasonInput, 'reason');
    await this.changeLicense(userId, async (license, manager) => {
      await this.requireTier(manager, tierKey);
      const from = baseTierKey(toLicense(license), this.defaultTier);
      if (from === tierKey) return null;
      license.baseTierKey = tierKey;
      return {
        type: 'TIER_CHANGED',
        userId,
        fromTierKey: from,
        toTierKey: tierKey,
        actor: actorOf(caller),
        reason,
      };
    });
  }

  /** Starts (or replaces) a trial of `tier` until `endsAt`. */
  async startTrial(
    caller: Caller,
    userIdInput: string,
    tierInput: string,
    endsAtInput: Date,
    reasonInput?: string | null,
  ): Promise<void> {
    assertScope(caller, Scope.write);
    const userId = checkUserId(userIdInput);
    const tierKey = checkKey(tierInput, 'tier');
    const endsAt = checkFutureDate(checkDate(endsAtInput, 'endsAt'), 'endsAt', new Date());
    const reason = checkText(reasonInput, 'reason');
    await this.changeLicense(userId, async (license, manager, now) => {
      await this.requireTier(manager, tierKey);
      const from = effectiveTierKey(toLicense(license), this.defaultTier, now);
      license.trialTierKey = tierKey;
      license.trialStartedAt = now;
      license.trialEndsAt = endsAt;
      return {
        type: 'TRIAL_STARTED',
        userId,
        fromTierKey: from,
        toTierKey: tierKey,
        actor: actorOf(caller),
        reason,
      };
    });
  }

  /** Ends a running trial now; without one, nothing changes. The trial stays visible as inactive. */
  async endTrial(caller: Caller, userIdInput: string, reasonInput?: string | null): Promise<void> {
    assertScope(caller, Scope.write);
    const userId = checkUserId(userIdInput);
    const reason = checkText(reasonInput, 'reason');
    await this.changeLicense(userId, async (license, _manager, now) => {
      const { trial } = toLicense(license);
      if (!isTrialActive(trial, now)) return null;
      license.trialEndsAt = now;
      const toTierKey = baseTierKey(toLicense(license), this.defaultTier);
      return {
        type: 'TRIAL_ENDED',
        userId,
        fromTierKey: trial.tierKey,
        toTierKey,
        actor: actorOf(caller),
        reason,
      };
    });
  }

  /** Ends all access at once; grants, tier and trial are kept for a restore. */
  async revokeLicense(caller: Caller, userIdInput: string, reasonInput: string): Promise<void> {
    assertScope(caller, Scope.write);
    const userId = checkUserId(userIdInput);
    const reason = checkRequiredText(reasonInput, 'reason');
    await this.changeLicense(userId, async (license, _manager, now) => {
      if (license.status === 'REVOKED') return null;
      license.status = 'REVOKED';
      license.revokedAt = now;
      license.revokeReason = reason;
      return { type: 'LICENSE_REVOKED', userId, actor: actorOf(caller), reason };
    });
  }

  async restoreLicense(caller: Caller, userIdInput: string, reasonInput?: string | null): Promise<void> {
    assertScope(caller, Scope.write);
    const userId = checkUserId(userIdInput);
    const reason = checkText(reasonInput, 'reason');
    await this.changeLicense(userId, async (license) => {
      if (license.status === 'ACTIVE') return null;
      license.status = 'ACTIVE';
      license.revokedAt = null;
      license.revokeReason = null;
      return { type: 'LICENSE_RESTORED', userId, actor: actorOf(caller), reason };
    });
  }

  /** Runs `decide` on the locked license row; saves the row and records the event it returns. */
  private async changeLicense(
    userId: string,
    decide: (license: LicenseRow, manager: EntityManager, now: Date) => Promise<LicenseChange>,
  ): Promise<void> {
    await this.db.transaction(async (manager) => {
      const now = new Date();
      const license = await this.lockLicense(manager, userId, now);
      const event = await decide(license, manager, now);
      if (event === null) return;
      license.updatedAt = now;
      await manager.save(LicenseRow, license);
      await this.events.record(manager, event, now);
    });
  }

  /**
   * Creates the default license row if needed and locks it for the rest of the transaction. The new
   * row's `updatedAt` is the epoch, like the license of an identity without a row: nothing changed yet.
   * An upsert rather than INSERT IGNORE: on a duplicate MySQL then takes an exclusive lock at once, where
   * IGNORE's shared lock lets two racing transactions deadlock on the FOR UPDATE that follows.
   */
  private async lockLicense(manager: EntityManager, userId: string, now: Date): Promise<LicenseRow> {
    await manager
      .createQueryBuilder()
      .insert()
      .into(LicenseRow)
      .values({ ...defaultLicenseRow(userId), createdAt: now })
      .orUpdate(['user_id'], ['user_id'])
      .execute();
    return manager.findOneOrFail(LicenseRow, { where: { userId }, lock: this.db.writeLock });
  }

  private async requireTier(manager: EntityManager, tierKey: string): Promise<void> {
    if (!(await manager.existsBy(TierRow, { key: tierKey }))) throw new NotFoundError('Tier', tierKey);
  }
}

function defaultLicenseRow(userId: string): Omit<LicenseRow, 'createdAt'> {
  const license = defaultLicense(userId);
  return {
    userId,
    baseTierKey: license.baseTierKey,
    status: license.status,
    revokedAt: null,
    revokeReason: null,
    trialTierKey: null,
    trialStartedAt: null,
    trialEndsAt: null,
    updatedAt: license.updatedAt,
  };
}

/** The error an access check throws, as a value: batch loaders answer each key on its own. */
function accessProblem(check: () => void): Error | null {
  try {
    check();
    return null;
  } catch (error) {
    return error as Error;
  }
}
