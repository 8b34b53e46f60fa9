import type { EntityManager, SelectQueryBuilder } from 'typeorm';

import { SYSTEM_ACTOR } from '../auth/caller';
import type { Database } from '../db/database';
import { GrantRow, LicenseRow, OverrideRow } from '../db/entities';
import { toLicense } from '../db/mappers';
import { baseTierKey } from '../domain/effective';
import type { LicenseEventLog } from './license-event.service';
import type { OverrideService } from './override.service';

const BATCH_SIZE = 200;
/**
 * A row due this long and still not on record was skipped on every sweep: other transactions held it the whole
 * time (a user metered without pause holds its license, an organization's members read its grants). Such a row
 * is waited for, one at a time, so that its event is stored within rule 5's 2 s.
 */
const OVERDUE_MS = 1000;

/** How a sweep claims due rows (see ExpiryService.claim). */
type Claim = 'skipping' | 'overdue';

/** One kind of row that comes due: which are due, their due and key columns, and how one is recorded. */
interface DueRows<T extends object> {
  query(manager: EntityManager): SelectQueryBuilder<T>;
  due: string;
  key: string;
  keyOf(row: T): string;
  /** Whether it recorded the row's event (false: nothing was due after all). */
  record(manager: EntityManager, row: T): Promise<boolean>;
}

/**
 * When a grant expires, a trial ends or an override runs out, ENTITLEMENT_EXPIRED / TRIAL_ENDED /
 * OVERRIDE_EXPIRED is stored (and so pushed) exactly
 * once, however many replicas look. A batch of due rows is claimed with FOR UPDATE SKIP LOCKED and marked in the
 * transaction that records the events, so replicas share the work instead of racing for the same rows, and
 * one commit records a whole batch; a row overdue is waited for (see OVERDUE_MS). (Access itself ends at read
 * time; this is the notice.)
 */
export class ExpiryService {
  constructor(
    private readonly db: Database,
    private readonly events: LicenseEventLog,
    private readonly defaultTier: string,
    private readonly overrides: OverrideService,
  ) {}

  /** Records everything that came due by `now`; returns how many events it stored. */
  async recordDue(now = new Date()): Promise<number> {
    let recorded = 0;
    // First what no other transaction holds, in batches; then what stayed held and is overdue, a row at a time.
    for (const claim of ['skipping', 'overdue'] as const) {
      for (;;) {
        const batch =
          (await this.expireGrants(now, claim)) +
          (await this.endTrials(now, claim)) +
          (await this.expireOverrides(now, claim));
        recorded += batch;
        if (batch === 0) break;
      }
    }
    return recorded;
  }

  /** The expiry of one grant, if it is due and not on record yet; also used when revoking an expired grant. */
  async recordGrantExpiry(manager: EntityManager, grant: GrantRow, now: Date): Promise<boolean> {
    if (
      grant.revokedAt !== null ||
      grant.expiryRecordedAt !== null ||
      !grant.expiresAt ||
      grant.expiresAt > now
    ) {
      return false;
    }
    await manager.update(GrantRow, { id: grant.id }, { expiryRecordedAt: now });
    await this.events.record(
      manager,
      {
        type: 'ENTITLEMENT_EXPIRED',
        userId: grant.userId,
        organizationId: grant.organizationId,
        featureKey: grant.featureKey,
        grantId: grant.id,
        actor: SYSTEM_ACTOR,
      },
      grant.expiresAt,
    );
    return true;
  }

  /**
   * The end of the license's trial, if it is due and not on record yet; also used when a new trial replaces it.
   * `license` is the row as read under its lock.
   */
  async recordTrialEnd(manager: EntityManager, license: LicenseRow, now: Date): Promise<boolean> {
    if (license.trialEndRecordedAt !== null || !license.trialEndsAt || license.trialEndsAt > now)
      return false;
    await manager.update(LicenseRow, { userId: license.userId }, { trialEndRecordedAt: now });
    await this.events.record(
      manager,
      {
        type: 'TRIAL_ENDED',
        userId: license.userId,
        fromTierKey: license.trialTierKey,
        toTierKey: baseTierKey(toLicense(license), this.defaultTier),
        actor: SYSTEM_ACTOR,
      },
      license.trialEndsAt,
    );
    return true;
  }

  private expireGrants(now: Date, claim: Claim): Promise<number> {
    return this.sweep(claim, now, {
      query: (manager) =>
        manager
          .createQueryBuilder(GrantRow, 'grant')
          .where(
            'grant.expiry_recorded_at IS NULL AND grant.revoked_at IS NULL AND grant.expires_at <= :now',
            { now },
          )
          .orderBy('grant.expires_at'),
      due: 'grant.expires_at',
      key: 'grant.id',
      keyOf: (grant) => grant.id,
      record: (manager, grant) => this.recordGrantExpiry(manager, grant, now),
    });
  }

  private endTrials(now: Date, claim: Claim): Promise<number> {
    return this.sweep(claim, now, {
      query: (manager) =>
        manager
          .createQueryBuilder(LicenseRow, 'license')
          .where('license.trial_end_recorded_at IS NULL AND license.trial_ends_at <= :now', { now })
          .orderBy('license.trial_ends_at'),
      due: 'license.trial_ends_at',
      key: 'license.user_id',
      keyOf: (license) => license.userId,
      record: (manager, license) => this.recordTrialEnd(manager, license, now),
    });
  }

  private expireOverrides(now: Date, claim: Claim): Promise<number> {
    return this.sweep(claim, now, {
      query: (manager) =>
        manager
          .createQueryBuilder(OverrideRow, 'override')
          .where(
            'override.expiry_recorded_at IS NULL AND override.ended_at IS NULL AND override.expires_at <= :now',
            { now },
          )
          .orderBy('override.expires_at'),
      due: 'override.expires_at',
      key: 'override.id',
      keyOf: (override) => override.id,
      record: async (manager, override) => {
        await this.overrides.recordExpiry(manager, override, now);
        return true;
      },
    });
  }

  /** One transaction: claims due rows of one kind and records each; returns how many it recorded. */
  private sweep<T extends object>(claim: Claim, now: Date, kind: DueRows<T>): Promise<number> {
    return this.db.transaction(async (manager) => {
      let recorded = 0;
      for (const row of await this.claim(kind.query(manager), { claim, ...kind }, now)) {
        if (await kind.record(manager, row)) recorded += 1;
      }
      return recorded;
    });
  }

  /**
   * `skipping`: up to a batch of due rows, locked; rows another transaction holds are skipped, not waited for, so
   * replicas share the work. `overdue`: the oldest row overdue (see OVERDUE_MS), found without a lock (a locking
   * read of a range would lock its neighbours too) and then locked by its key alone, waited for; the lock reads
   * its latest version, so the conditions are checked again and a row another replica recorded meanwhile is not
   * returned.
   */
  private async claim<T extends object>(
    query: SelectQueryBuilder<T>,
    how: { claim: Claim; due: string; key: string; keyOf: (row: T) => string },
    now: Date,
  ): Promise<T[]> {
    if (how.claim === 'skipping') return this.db.claimSkippingLocked(query.take(BATCH_SIZE)).getMany();
    const overdue = new Date(now.getTime() - OVERDUE_MS);
    const oldest = await query.clone().andWhere(`${how.due} <= :overdue`, { overdue }).take(1).getOne();
    if (!oldest) return [];
    return this.db
      .lockForUpdate(query.andWhere(`${how.key} = :key`, { key: how.keyOf(oldest) }).take(1))
      .getMany();
  }
}
