import { randomUUID } from 'node:crypto';

import type { EntityManager } from 'typeorm';
import { In } from 'typeorm';

import {
  accessProblem,
  assertAuthenticated,
  assertCanReadEveryone,
  assertCanReadUser,
  assertScope,
  canReadEveryone,
} from '../auth/access';
import type { Caller } from '../auth/caller';
import { actorOf, isScimActor, Scope } from '../auth/caller';
import type { Database } from '../db/database';
import { FeatureRow, GrantRow, LicenseRow, TierRow } from '../db/entities';
import { lastRevocationActor } from '../db/event-store';
import type { LicenseStore } from '../db/license-store';
import { toFeature, toGrant, toGrantRow, toLicense } from '../db/mappers';
import type { LicenseState, LicenseView } from '../domain/effective';
import { baseTierKey, effectiveTierKey, isTrialActive, viewLicense } from '../domain/effective';
import type { Catalog, Grant, JsonValue } from '../domain/types';
import {
  checkDate,
  checkFitsKind,
  checkFutureDate,
  checkGrantWindow,
  checkIdempotencyKey,
  checkJsonValue,
  checkKey,
  checkLimit,
  checkOrganizationId,
  checkRequiredText,
  checkText,
  checkUserId,
  userIdProblem,
} from '../domain/validation';
import { BadUserInputError, NotFoundError } from '../errors';
import type { ExpiryService } from './expiry.service';
import type { IdempotencyStore } from './idempotency';
import type { LicenseEventLog, NewLicenseEvent } from './license-event.service';
import type { OrganizationService } from './organization.service';
import { TurnBatcher } from './turn-batcher';

/** What a grant gives, whoever it is given to. */
interface GrantDetails {
  feature: string;
  limit?: number | null;
  value?: JsonValue;
  startsAt?: Date | null;
  expiresAt?: Date | null;
  reason?: string | null;
  idempotencyKey?: string | null;
}

export interface GrantInput extends GrantDetails {
  userId: string;
}

export interface OrganizationGrantInput extends GrantDetails {
  organizationId: string;
}

/** Whom a grant is given to: one identity, or an organization as a whole. */
type GrantOwner = Pick<Grant, 'userId' | 'organizationId'>;

/** A user's license view, or its state as read for checks of some features only (with when it was read). */
export type LicenseRead = LicenseView | Pick<LicenseView, 'state' | 'now'>;

/** The users (and, for checks, the features) one request reads. */
interface StateRead {
  userIds: string[];
  features: readonly string[] | undefined;
}

/** States read at `now`: of a shared read's users, a superset of any one request's. */
interface StatesAt {
  states: Map<string, LicenseState>;
  now: Date;
}

/**
 * A shared read takes requests until their users and features add up to this (one request may read more
 * alone): SQLite binds each of them up to three times, under its 32,766 parameters.
 */
const MAX_SHARED_READ_SIZE = 10_000;

/** What a license change decided: the event to record, or null when there was nothing to change. */
type LicenseChange = NewLicenseEvent | null;

/**
 * Licenses and grants. Each change is one transaction that locks the user's license row (so changes to
 * one identity are serialized), writes the new state and records its event; a no-op records nothing.
 */
export class LicenseService {
  constructor(
    private readonly db: Database,
    private readonly store: LicenseStore,
    private readonly events: LicenseEventLog,
    private readonly idempotency: IdempotencyStore,
    private readonly expiries: ExpiryService,
    private readonly organizations: OrganizationService,
    private readonly defaultTier: string,
  ) {}

  /**
   * Concurrent requests' reads (outside any transaction) in one round trip per turn of the event loop: the
   * states of all their users, of all their features (everything when one of them reads whole views).
   */
  private readonly sharedReads = new TurnBatcher<StateRead, StatesAt>(
    async (_group, reads) => {
      const userIds = [...new Set(reads.flatMap((read) => read.userIds))];
      const whole = reads.some((read) => read.features === undefined);
      const features = whole ? undefined : [...new Set(reads.flatMap((read) => read.features!))];
      const now = new Date();
      const states = await this.store.states(
        this.db.manager,
        userIds,
        now,
        features && { features, pooledUsage: true },
      );
      return reads.map(() => ({ states, now }));
    },
    { maxSize: MAX_SHARED_READ_SIZE },
  );

  /**
   * The license views of many users in one batch of reads, in the order asked, with the catalog they were
   * read against (null when none could be read). An invalid id, or one the caller may not read, gets its
   * own error so that it does not fail the whole batch. With `features`, their states read for checks of
   * those features only, rather than views.
   */
  async view(
    caller: Caller,
    userIds: readonly string[],
    features?: readonly string[],
  ): Promise<{ views: (LicenseRead | Error)[]; catalog: Catalog | null }> {
    const readable = new Set(userIds.filter((id) => this.readProblem(caller, id) === null));
    const { states, now } =
      readable.size === 0
        ? { states: new Map<string, LicenseState>(), now: new Date() }
        : await this.sharedReads.add(
            '',
            { userIds: [...readable], features },
            readable.size + (features?.length ?? 0),
          );
    const catalog = states.values().next().value?.catalog ?? null;
    // The shared read holds other requests' users too: only this caller's readable ones are answered.
    const views = userIds.map((userId) => {
      if (!readable.has(userId)) return this.readProblem(caller, userId)!;
      const state = states.get(userId)!;
      return features ? { state, now } : viewLicense(state, now);
    });
    return { views, catalog };
  }

  /** Why the caller may not read the license of `userId` (an invalid id, or not its own), or null. */
  readProblem(caller: Caller, userId: string): Error | null {
    const problem = userIdProblem(userId);
    if (problem !== null) return new BadUserInputError('id', problem);
    return accessProblem(() => assertCanReadUser(caller, userId));
  }

  async grantsByIds(caller: Caller, ids: readonly string[]): Promise<(Grant | Error | null)[]> {
    assertAuthenticated(caller);
    const rows = await this.db.manager.findBy(GrantRow, { id: In([...ids]) });
    const grants = rows.map(toGrant);
    const byId = new Map(grants.map((grant) => [grant.id, grant]));
    // An organization's grant is also readable by its seat holders, now and former: it is among their
    // entitlements, and their audit trail keeps the organization's events of their seat periods.
    const seatedIn =
      !canReadEveryone(caller) && grants.some((grant) => grant.organizationId !== null)
        ? await this.organizations.seatedOrganizations(caller.subject!)
        : new Set<string>();
    return ids.map((id) => {
      const grant = byId.get(id);
      if (!grant) return null;
      const { userId, organizationId } = grant;
      const problem = accessProblem(() =>
        userId !== null
          ? assertCanReadUser(caller, userId)
          : seatedIn.has(organizationId!) || assertCanReadEveryone(caller, "an organization's grants"),
      );
      return problem ?? grant;
    });
  }

  async grantEntitlement(caller: Caller, input: GrantInput): Promise<Grant> {
    assertScope(caller, Scope.write);
    const userId = checkUserId(input.userId);
    return this.grant(caller, { userId, organizationId: null }, input, 'grantEntitlement');
  }

  /** A grant to an organization as a whole: every seat holder has it while the organization's license is active. */
  async grantOrganizationEntitlement(caller: Caller, input: OrganizationGrantInput): Promise<Grant> {
    assertScope(caller, Scope.write);
    const organizationId = checkOrganizationId(input.organizationId);
    return this.grant(caller, { userId: null, organizationId }, input, 'grantOrganizationEntitlement');
  }

  private async grant(
    caller: Caller,
    owner: GrantOwner,
    input: GrantDetails,
    operation: string,
  ): Promise<Grant> {
    const now = new Date();
    const featureKey = checkKey(input.feature, 'feature');
    const limit = checkLimit(input.limit);
    const value = checkJsonValue(input.value);
    const reason = checkText(input.reason, 'reason');
    const startsAt = checkDate(input.startsAt ?? now, 'startsAt');
    const expiresAt = input.expiresAt ? checkDate(input.expiresAt, 'expiresAt') : null;
    checkGrantWindow(startsAt, expiresAt, now);
    const key = checkIdempotencyKey(input.idempotencyKey);
    const request = {
      ...(owner.userId !== null ? { userId: owner.userId } : { organizationId: owner.organizationId }),
      feature: featureKey,
      limit,
      value,
      startsAt: input.startsAt ?? null,
      expiresAt,
      reason,
    };

    return this.db.transaction(async (manager) => {
      const scope = { caller: actorOf(caller), operation };
      const idempotent = key ? await this.idempotency.start(manager, scope, key, request) : null;
      if (idempotent?.replayed) return reviveGrant(idempotent.response);
      // Locked: a change of the feature's kind (which refuses while grants exist) waits for this one.
      const feature = await manager.findOne(FeatureRow, {
        where: { key: featureKey },
        lock: this.db.writeLock,
      });
      if (!feature) throw new NotFoundError('Feature', featureKey);
      checkFitsKind(toFeature(feature), { limit, value });
      await this.lockOwner(manager, owner, now);
      const grant: Grant = {
        id: randomUUID(),
        ...owner,
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
          ...owner,
          featureKey,
          grantId: grant.id,
          actor: grant.grantedBy,
          reason,
        },
        now,
      );
      idempotent?.complete(JSON.stringify(grant));
      return grant;
    });
  }

  /** The lock every change of a grant's owner takes: the user's license, or the organization's (NOT_FOUND without one). */
  private async lockOwner(manager: EntityManager, owner: GrantOwner, now: Date): Promise<void> {
    if (owner.organizationId !== null) await this.organizations.requireLicense(manager, owner.organizationId);
    else await this.store.lock(manager, owner.userId!, now);
  }

  /** Revoking an already revoked grant returns it unchanged. */
  async revokeEntitlement(caller: Caller, grantId: string, reasonInput?: string | null): Promise<Grant> {
    assertScope(caller, Scope.write);
    const reason = checkText(reasonInput, 'reason');
    return this.db.transaction(async (manager) => {
      const found = await manager.findOneBy(GrantRow, { id: grantId });
      if (!found) throw new NotFoundError('Grant', grantId);
      const now = new Date();
      await this.lockOwner(manager, found, now);
      const grant = await manager.findOneOrFail(GrantRow, {
        where: { id: grantId },
        lock: this.db.writeLock,
      });
      if (grant.revokedAt !== null) return toGrant(grant);
      if (grant.expiresAt !== null && grant.expiresAt <= now) {
        // It ended by itself: nothing is left to revoke, but its expiry must be on record (expiries are stored and pushed, see the README's Subscriptions).
        await this.expiries.recordGrantExpiry(manager, grant, now);
        return toGrant(grant);
      }

      grant.revokedAt = now;
      grant.revokeReason = reason;
      await manager.update(GrantRow, { id: grantId }, { revokedAt: now, revokeReason: reason });
      await this.events.record(
        manager,
        {
          type: 'ENTITLEMENT_REVOKED',
          userId: grant.userId,
          organizationId: grant.organizationId,
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
      // A trial that ended by itself is on record before another replaces it (rule 5: stored once).
      await this.expiries.recordTrialEnd(manager, license, now);
      const from = effectiveTierKey(toLicense(license), this.defaultTier, now);
      license.trialTierKey = tierKey;
      license.trialStartedAt = now;
      license.trialEndsAt = endsAt;
      license.trialEndRecordedAt = null;
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
      license.trialEndRecordedAt = now;
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
    // Over a revocation by SCIM, which the identity provider's next "active" would undo, it is recorded too.
    await this.db.transaction((manager) =>
      this.revokeWithin(manager, userId, actorOf(caller), reason, async () =>
        isScimActor(await lastRevocationActor(manager, userId)),
      ),
    );
  }

  async restoreLicense(caller: Caller, userIdInput: string, reasonInput?: string | null): Promise<void> {
    assertScope(caller, Scope.write);
    const userId = checkUserId(userIdInput);
    const reason = checkText(reasonInput, 'reason');
    await this.db.transaction((manager) => this.restoreWithin(manager, userId, actorOf(caller), reason));
  }

  /**
   * revokeLicense inside a transaction the caller holds, for an actor that is not a token's `sub` (SCIM's
   * `scim:<token id>`): the caller's own change and the revocation commit together, or neither does. A license
   * revoked already is left as it is, unless `revokesAgain` (asked under its lock) says this revocation is to be
   * recorded all the same: its reason, and its own event.
   */
  async revokeWithin(
    manager: EntityManager,
    userId: string,
    actor: string,
    reason: string,
    revokesAgain: () => Promise<boolean> = async () => false,
  ): Promise<void> {
    await this.changeLicenseWithin(manager, userId, async (license, _manager, now) => {
      if (license.status === 'REVOKED') {
        if (!(await revokesAgain())) return null;
      } else {
        license.status = 'REVOKED';
        license.revokedAt = now;
      }
      license.revokeReason = reason;
      return { type: 'LICENSE_REVOKED', userId, actor, reason };
    });
  }

  /** restoreLicense likewise; `mayRestore` is asked under the license's lock, once it is known to be revoked. */
  async restoreWithin(
    manager: EntityManager,
    userId: string,
    actor: string,
    reason: string | null,
    mayRestore: () => Promise<boolean> = async () => true,
  ): Promise<void> {
    await this.changeLicenseWithin(manager, userId, async (license) => {
      if (license.status === 'ACTIVE' || !(await mayRestore())) return null;
      license.status = 'ACTIVE';
      license.revokedAt = null;
      license.revokeReason = null;
      return { type: 'LICENSE_RESTORED', userId, actor, reason };
    });
  }

  /** Runs `decide` on the locked license row; saves the row and records the event it returns. */
  private async changeLicense(
    userId: string,
    decide: (license: LicenseRow, manager: EntityManager, now: Date) => Promise<LicenseChange>,
  ): Promise<void> {
    await this.db.transaction((manager) => this.changeLicenseWithin(manager, userId, decide));
  }

  private async changeLicenseWithin(
    manager: EntityManager,
    userId: string,
    decide: (license: LicenseRow, manager: EntityManager, now: Date) => Promise<LicenseChange>,
  ): Promise<void> {
    const now = new Date();
    const license = await this.store.lock(manager, userId, now);
    const event = await decide(license, manager, now);
    if (event === null) return;
    license.updatedAt = now;
    await manager.save(LicenseRow, license);
    await this.events.record(manager, event, now);
  }

  private async requireTier(manager: EntityManager, tierKey: string): Promise<void> {
    if (!(await manager.existsBy(TierRow, { key: tierKey }))) throw new NotFoundError('Tier', tierKey);
  }
}

/** A grant as stored with its idempotency key, dates revived. */
function reviveGrant(json: string): Grant {
  const grant = JSON.parse(json) as Record<keyof Grant, unknown>;
  const date = (value: unknown) => (value === null ? null : new Date(value as string));
  return {
    ...(grant as unknown as Grant),
    startsAt: new Date(grant.startsAt as string),
    expiresAt: date(grant.expiresAt),
    revokedAt: date(grant.revokedAt),
    createdAt: new Date(grant.createdAt as string),
  };
}
