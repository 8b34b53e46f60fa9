import type { Database } from '../db/database';
import { GrantRow, LicenseRow } from '../db/entities';
import { baseTierKey } from '../domain/effective';
import { toLicense } from '../db/mappers';
import type { LicenseEventLog } from './license-event.service';
import type { LicenseStore } from './license-store';

const SYSTEM_ACTOR = 'system';
const BATCH_SIZE = 100;

/**
 * Rule 5: when a grant expires or a trial ends, ENTITLEMENT_EXPIRED / TRIAL_ENDED is stored, exactly once
 * however many replicas look. Each one is claimed by a conditional UPDATE in the transaction that records
 * the event: of two replicas racing, only one UPDATE matches. (Access itself ends at read time.)
 */
export class ExpiryService {
  constructor(
    private readonly db: Database,
    private readonly store: LicenseStore,
    private readonly events: LicenseEventLog,
    private readonly defaultTier: string,
  ) {}

  /** Records what came due by `now`; returns how many events it stored. */
  async recordDue(now = new Date()): Promise<number> {
    return (await this.expireGrants(now)) + (await this.endTrials(now));
  }

  private async expireGrants(now: Date): Promise<number> {
    const due = await this.db.manager
      .createQueryBuilder(GrantRow, 'grant')
      .where('grant.expiry_recorded_at IS NULL AND grant.revoked_at IS NULL AND grant.expires_at <= :now', {
        now,
      })
      .orderBy('grant.expires_at')
      .take(BATCH_SIZE)
      .getMany();
    let recorded = 0;
    for (const grant of due) {
      await this.db.transaction(async (manager) => {
        await this.store.lock(manager, grant.userId, now);
        const claimed = await manager
          .createQueryBuilder()
          .update(GrantRow)
          .set({ expiryRecordedAt: now })
          .where('id = :id AND expiry_recorded_at IS NULL AND revoked_at IS NULL', { id: grant.id })
          .execute();
        if (claimed.affected !== 1) return;
        recorded += 1;
        await this.events.record(
          manager,
          {
            type: 'ENTITLEMENT_EXPIRED',
            userId: grant.userId,
            featureKey: grant.featureKey,
            grantId: grant.id,
            actor: SYSTEM_ACTOR,
          },
          grant.expiresAt as Date,
        );
      });
    }
    return recorded;
  }

  private async endTrials(now: Date): Promise<number> {
    const due = await this.db.manager
      .createQueryBuilder(LicenseRow, 'license')
      .where('license.trial_end_recorded_at IS NULL AND license.trial_ends_at <= :now', { now })
      .orderBy('license.trial_ends_at')
      .take(BATCH_SIZE)
      .getMany();
    let recorded = 0;
    for (const { userId } of due) {
      await this.db.transaction(async (manager) => {
        const license = await this.store.lock(manager, userId, now);
        const endsAt = license.trialEndsAt;
        if (!license.trialTierKey || !endsAt || endsAt > now || license.trialEndRecordedAt !== null) return;
        const claimed = await manager
          .createQueryBuilder()
          .update(LicenseRow)
          .set({ trialEndRecordedAt: now })
          .where('user_id = :userId AND trial_end_recorded_at IS NULL', { userId })
          .execute();
        if (claimed.affected !== 1) return;
        recorded += 1;
        await this.events.record(
          manager,
          {
            type: 'TRIAL_ENDED',
            userId,
            fromTierKey: license.trialTierKey,
            toTierKey: baseTierKey(toLicense(license), this.defaultTier),
            actor: SYSTEM_ACTOR,
          },
          endsAt,
        );
      });
    }
    return recorded;
  }
}
