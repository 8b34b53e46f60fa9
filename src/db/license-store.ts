import type { EntityManager } from 'typeorm';

import type { LicenseState } from '../domain/effective';
import { defaultLicense } from '../domain/effective';
import { groupBy } from '../domain/group-by';
import { currentUsage, earliestCurrentPeriodStart } from '../domain/usage';
import type { CatalogStore } from './catalog-store';
import type { Database } from './database';
import {
  GrantRow,
  LicenseRow,
  OrganizationUsageCounterRow,
  OverrideRow,
  SeatRow,
  UsageCounterRow,
} from './entities';
import type { FeatureFilter } from './feature-filter';
import { featureClause } from './feature-filter';
import { toGrant, toLicense, toOverride, toSeat } from './mappers';
import { organizationRecords, seatedOrganizations } from './organization-store';
import type { Statement } from './raw-sql';
import { hydrate, mixedUnion, statement, upsert } from './raw-sql';

/** The organizations whose seat one of the users (`ids`) holds, as a subquery. */
const HELD_SEAT_ORGANIZATIONS = 'SELECT organization_id FROM seats WHERE user_id IN (:...ids) AND held = 1';

/** The columns a held license is created with (the others are null until the license changes). */
const HOLD_COLUMNS = ['user_id', 'base_tier_key', 'status', 'created_at', 'updated_at'];

/** Licenses are locked this many at a time (one upsert each), well under both databases' parameter caps. */
const HOLD_BATCH = 500;

/**
 * Reading and locking license state, shared by the license and usage services. Reads are batched: one round
 * trip on MySQL (five statements) for any number of users, their overrides, group tiers and seats, the catalog
 * version included.
 */
export class LicenseStore {
  constructor(
    private readonly db: Database,
    private readonly catalog: CatalogStore,
    private readonly defaultTier: string,
  ) {}

  /**
   * Licenses, live grants and current usage of `userIds` (distinct, valid ids), with the catalog they are read
   * against; with `only`, for those features' decisions alone.
   */
  async states(
    manager: EntityManager,
    userIds: readonly string[],
    now: Date,
    only?: FeatureFilter,
  ): Promise<Map<string, LicenseState>> {
    return this.readStates(manager, userIds, now, only, []);
  }

  /**
   * `holdAll`, then `states`, in one round trip on MySQL: the reads follow the locks, so they see every
   * commit before them (the transaction's snapshot is taken by its first read).
   */
  async holdStates(
    manager: EntityManager,
    userIds: readonly string[],
    now: Date,
    only?: FeatureFilter,
  ): Promise<Map<string, LicenseState>> {
    return this.readStates(manager, userIds, now, only, holdStatements(manager, userIds, now));
  }

  /** The states of `userIds`, read after `holds` in the same round trip. */
  private async readStates(
    manager: EntityManager,
    userIds: readonly string[],
    now: Date,
    only: FeatureFilter | undefined,
    holds: Statement[],
  ): Promise<Map<string, LicenseState>> {
    if (userIds.length === 0) return new Map();
    const rows = await this.db.readBatch(manager, [...holds, ...this.reads(manager, userIds, now, only)]);
    return this.assemble(manager, userIds, rows.slice(holds.length), now);
  }

  private reads(
    manager: EntityManager,
    userIds: readonly string[],
    now: Date,
    only?: FeatureFilter,
  ): Statement[] {
    const ids = [...userIds];
    const { clause, features } = featureClause(only);
    const live = 'AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > :now)';
    const current = 'AND (period_start >= :earliest OR period_start = :lifetime)';
    return [
      // The catalog version (for CatalogStore.atVersion) rides on the licenses' read: one row without any.
      statement(
        manager,
        `SELECT v.version AS catalog_version, l.* FROM catalog_version v
         LEFT JOIN licenses l ON l.user_id IN (:...ids) WHERE v.id = 1`,
        { ids },
      ),
      // Their grants and overrides, and the grants of the organizations of their seats, in one result set.
      statement(
        manager,
        mixedUnion(manager, [
          { kind: 'grant', target: GrantRow, from: `grants WHERE user_id IN (:...ids)${clause} ${live}` },
          {
            kind: 'grant',
            target: GrantRow,
            // IS NOT NULL changes no answer, but MariaDB's plan: most grants are a user's own, with no
            // organization, and estimated from that index alone it scanned every grant instead.
            from: `grants WHERE organization_id IS NOT NULL
             AND organization_id IN (${HELD_SEAT_ORGANIZATIONS})${clause} ${live}`,
          },
          {
            kind: 'override',
            target: OverrideRow,
            from: `overrides WHERE user_id IN (:...ids)${clause}
             AND ended_at IS NULL AND (expires_at IS NULL OR expires_at > :now)`,
          },
        ]),
        { ids, now, features },
      ),
      // Their usage and their organizations' pools, in another: counters are most of a large batch's rows,
      // and padded to the grants' columns they would cost more than a result set.
      statement(
        manager,
        mixedUnion(manager, [
          {
            kind: 'usage',
            target: UsageCounterRow,
            from: `usage_counters WHERE user_id IN (:...ids)${clause} ${current}`,
          },
          ...(only && !only.pooledUsage
            ? []
            : [
                {
                  kind: 'pooledUsage',
                  target: OrganizationUsageCounterRow,
                  from: `organization_usage_counters WHERE organization_id IN (${HELD_SEAT_ORGANIZATIONS})${clause}
                   ${current}`,
                },
              ]),
        ]),
        { ids, features, earliest: earliestCurrentPeriodStart(now), lifetime: new Date(0) },
      ),
      // Their seats, each with its organization's license (every seat's organization has one).
      statement(
        manager,
        `SELECT s.*, o.tier_key, o.seat_limit, o.seats_used, o.status, o.revoked_at, o.revoke_reason,
         o.created_at, o.updated_at
         FROM seats s JOIN organization_licenses o ON o.organization_id = s.organization_id
         WHERE s.user_id IN (:...ids) AND s.held = 1 ORDER BY s.id`,
        { ids },
      ),
      // The tiers their SCIM groups give (rule S4): groups of the identity directory whose name is mapped.
      statement(
        manager,
        `SELECT u.subject AS user_id, g.id AS group_id, g.display_name AS group_name, t.tier_key AS tier_key
         FROM scim_users u
         JOIN scim_group_members m ON m.user_id = u.id
         JOIN scim_groups g ON g.id = m.group_id
         JOIN scim_group_tiers t ON t.group_key = g.display_name_key
         WHERE u.directory = '' AND u.subject IN (:...ids)`,
        { ids },
      ),
    ];
  }

  private async assemble(
    manager: EntityManager,
    ids: readonly string[],
    [licenseRows, grantAndOverrideRows, counterRows, seatRows, groupTierRows]: Record<string, unknown>[][],
    now: Date,
  ): Promise<Map<string, LicenseState>> {
    const catalog = await this.catalog.atVersion(manager, licenseRows[0].catalog_version);
    const byKind = groupBy([...grantAndOverrideRows, ...counterRows], (row) => row.row_kind as string);
    const grantRows = byKind.get('grant') ?? [];
    // The seats' rows carry their organization's license.
    const organizations = organizationRecords(
      manager,
      [seatRows, grantRows.filter((row) => row.organization_id !== null), byKind.get('pooledUsage') ?? []],
      catalog,
      now,
    );
    const seats = groupBy(hydrate(manager, SeatRow, seatRows).map(toSeat), (seat) => seat.userId);
    const overrides = groupBy(
      hydrate(manager, OverrideRow, byKind.get('override') ?? []).map(toOverride),
      (override) => override.userId,
    );
    const groupTiers = groupBy(groupTierRows as unknown as GroupTierRow[], (row) => row.user_id);

    const licenses = new Map(
      hydrate(
        manager,
        LicenseRow,
        licenseRows.filter((row) => row.user_id !== null),
      ).map((row) => [row.userId, toLicense(row)]),
    );
    const grants = groupBy(
      hydrate(
        manager,
        GrantRow,
        grantRows.filter((row) => row.organization_id === null),
      ).map(toGrant),
      (grant) => grant.userId!,
    );
    const counters = groupBy(
      hydrate(manager, UsageCounterRow, byKind.get('usage') ?? []),
      (row) => row.userId,
    );
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
          organizations: seatedOrganizations(seats.get(userId) ?? [], organizations),
          overrides: overrides.get(userId) ?? [],
          groupTiers: (groupTiers.get(userId) ?? []).map((row) => ({
            groupId: row.group_id,
            group: row.group_name,
            tierKey: row.tier_key,
          })),
        },
      ]),
    );
  }

  /**
   * The users' states with the organizations of their seats share-locked until commit and read again under
   * those locks: as they stand now, not as of the transaction's snapshot, and unchanged until commit (every
   * change to an organization, its grants and its seats locks its license first, exclusively). For decisions
   * against an organization's limits (pooled meters). Organizations are locked in order of id, after the
   * users' licenses; a seat given since the snapshot is not seen, a seat taken back is.
   */
  async lockOrganizations(
    manager: EntityManager,
    states: ReadonlyMap<string, LicenseState>,
    now: Date,
    only?: FeatureFilter,
  ): Promise<Map<string, LicenseState>> {
    const ids = [...states.keys()];
    const organizationIds = [
      ...new Set(
        [...states.values()].flatMap((state) =>
          (state.organizations ?? []).map((organization) => organization.license.organizationId),
        ),
      ),
    ].sort();
    if (organizationIds.length === 0) return new Map(states);
    const lock = this.db.shareLockClause;
    const { clause, features } = featureClause(only);
    const [licenseRows, seatRows, grantRows] = await this.db.readBatch(manager, [
      statement(
        manager,
        `SELECT * FROM organization_licenses WHERE organization_id IN (:...organizationIds)
         ORDER BY organization_id${lock}`,
        { organizationIds },
      ),
      statement(
        manager,
        `SELECT * FROM seats WHERE organization_id IN (:...organizationIds) AND user_id IN (:...ids) AND held = 1
         ORDER BY id${lock}`,
        { organizationIds, ids },
      ),
      statement(
        manager,
        `SELECT * FROM grants WHERE organization_id IN (:...organizationIds)${clause}
         AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > :now)${lock}`,
        { organizationIds, now, features },
      ),
    ]);
    const [{ catalog }] = states.values();
    // Pooled counts are read under the pools' own locks by their users, so none are read here.
    const organizations = organizationRecords(manager, [licenseRows, grantRows], catalog, now);
    const seats = groupBy(hydrate(manager, SeatRow, seatRows).map(toSeat), (seat) => seat.userId);
    return new Map(
      [...states].map(([userId, state]) => [
        userId,
        { ...state, organizations: seatedOrganizations(seats.get(userId) ?? [], organizations) },
      ]),
    );
  }

  /**
   * Locks the user's license row for the rest of the transaction, creating the default one if needed, and
   * returns it. This serializes every change to one identity and every usage decision against those changes.
   */
  async lock(manager: EntityManager, userId: string, now: Date): Promise<LicenseRow> {
    await this.hold(manager, userId, now);
    const { sql, parameters } = statement(
      manager,
      `SELECT * FROM licenses WHERE user_id = :userId${this.db.forUpdateClause}`,
      { userId },
    );
    const [row] = hydrate(manager, LicenseRow, await manager.query(sql, parameters));
    return row;
  }

  /**
   * Takes the lock of `lock` without reading the row, for a caller that reads it with its next batch (a
   * read after the lock sees every commit before it). An upsert, not a locking read first: on a missing
   * row that would take a gap lock, and racing first calls for a new user would deadlock on their inserts;
   * not INSERT IGNORE either, whose shared lock on a duplicate deadlocks the same way. The new row's
   * `updatedAt` is the epoch, like the license of an identity without a row: nothing changed yet.
   */
  async hold(manager: EntityManager, userId: string, now: Date): Promise<void> {
    await this.holdAll(manager, [userId], now);
  }

  /**
   * `hold` for many identities (a group's members), a few hundred per statement. Taken in order of user id, so
   * two transactions holding overlapping sets wait for each other rather than deadlock.
   */
  async holdAll(manager: EntityManager, userIds: readonly string[], now: Date): Promise<void> {
    for (const { sql, parameters } of holdStatements(manager, userIds, now)) {
      await manager.query(sql, parameters);
    }
  }
}

/** The upserts of `holdAll`, a few hundred licenses each, in order of user id. */
function holdStatements(manager: EntityManager, userIds: readonly string[], now: Date): Statement[] {
  const ordered = [...new Set(userIds)].sort();
  const statements: Statement[] = [];
  // The default license is the same for every identity but its id.
  const { baseTierKey, status, updatedAt } = defaultLicense('');
  for (let start = 0; start < ordered.length; start += HOLD_BATCH) {
    const rows = ordered
      .slice(start, start + HOLD_BATCH)
      .map((userId) => [userId, baseTierKey, status, now, updatedAt]);
    statements.push(
      upsert(manager, 'licenses', HOLD_COLUMNS, rows, { key: ['user_id'], update: ['user_id'] }),
    );
  }
  return statements;
}

/** A row of the group tiers statement in `states`. */
interface GroupTierRow {
  user_id: string;
  group_id: string;
  group_name: string;
  tier_key: string;
}
