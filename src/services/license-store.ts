import { In } from 'typeorm';
import type { EntityManager } from 'typeorm';

import type { Database } from '../db/database';
import { GrantRow, LicenseRow, UsageCounterRow } from '../db/entities';
import { toGrant, toLicense } from '../db/mappers';
import { defaultLicense } from '../domain/effective';
import type { LicenseState } from '../domain/effective';
import { groupBy } from '../domain/group-by';
import { currentUsage, earliestCurrentPeriodStart } from '../domain/usage';
import type { Catalog } from '../domain/types';

/**
 * Reading and locking license state, shared by the license and usage services. Reads are batched:
 * three statements for any number of users.
 */
export class LicenseStore {
  constructor(
    private readonly db: Database,
    private readonly defaultTier: string,
  ) {}

  /** Licenses, live grants and current usage of `userIds` (distinct, valid ids). */
  async states(
    manager: EntityManager,
    userIds: readonly string[],
    catalog: Catalog,
    now: Date,
  ): Promise<Map<string, LicenseState>> {
    const ids = [...userIds];
    const [licenseRows, grantRows, counterRows] =
      ids.length === 0
        ? [[], [], []]
        : await Promise.all([
            manager.findBy(LicenseRow, { userId: In(ids) }),
            manager
              .createQueryBuilder(GrantRow, 'grant')
              .where('grant.user_id IN (:...ids)', { ids })
              .andWhere('grant.revoked_at IS NULL')
              .andWhere('(grant.expires_at IS NULL OR grant.expires_at > :now)', { now })
              .getMany(),
            manager
              .createQueryBuilder(UsageCounterRow, 'counter')
              .where('counter.user_id IN (:...ids)', { ids })
              .andWhere('(counter.period_start >= :earliest OR counter.period_start = :lifetime)', {
                earliest: earliestCurrentPeriodStart(now),
                lifetime: new Date(0),
              })
              .getMany(),
          ]);
    const licenses = new Map(licenseRows.map((row) => [row.userId, toLicense(row)]));
    const grants = groupBy(grantRows.map(toGrant), (grant) => grant.userId);
    const counters = groupBy(counterRows, (row) => row.userId);
    return new Map(
      ids.map((userId) => [
        userId,
        {
          license: licenses.get(userId) ?? defaultLicense(userId),
          grants: grants.get(userId) ?? [],
          catalog,
          defaultTier: this.defaultTier,
          usedByFeature: currentUsage(
            (counters.get(userId) ?? []).map((row) => ({ ...row, used: Number(row.used) })),
            catalog.features,
            now,
          ),
        },
      ]),
    );
  }

  /**
   * Creates the default license row if needed and locks it for the rest of the transaction, which
   * serializes every change to one identity and every usage decision against those changes. The new
   * row's `updatedAt` is the epoch, like the license of an identity without a row: nothing changed yet.
   * An upsert rather than INSERT IGNORE: on a duplicate MySQL then takes an exclusive lock at once, where
   * IGNORE's shared lock lets two racing transactions deadlock on the FOR UPDATE that follows.
   */
  async lock(manager: EntityManager, userId: string, now: Date): Promise<LicenseRow> {
    await manager
      .createQueryBuilder()
      .insert()
      .into(LicenseRow)
      .values({ ...defaultLicenseRow(userId), createdAt: now })
      .orUpdate(['user_id'], ['user_id'])
      .execute();
    return manager.findOneOrFail(LicenseRow, { where: { userId }, lock: this.db.writeLock });
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
    trialEndRecordedAt: null,
    updatedAt: license.updatedAt,
  };
}
