import type { EntityManager } from 'typeorm';

import type { OrganizationState } from '../domain/effective';
import { groupBy } from '../domain/group-by';
import type { Catalog, Seat } from '../domain/types';
import { currentUsage, earliestCurrentPeriodStart } from '../domain/usage';
import type { Database } from './database';
import { GrantRow, OrganizationLicenseRow, OrganizationUsageCounterRow, SeatRow } from './entities';
import { toGrant, toOrganizationLicense, toSeat } from './mappers';
import type { Statement } from './raw-sql';
import { hydrate, statement } from './raw-sql';

/** An organization's state without the seat through which a user sees it. */
export type OrganizationRecord = Omit<OrganizationState, 'seat'>;

/**
 * The statements that read the organizations selected by `organizations` (a subquery or a list, bound by
 * `parameters`): licenses, live grants and current pooled usage. Three statements, whatever their number.
 */
function organizationStatements(
  manager: EntityManager,
  organizations: string,
  parameters: Record<string, unknown>,
  now: Date,
): Statement[] {
  return [
    statement(
      manager,
      `SELECT * FROM organization_licenses WHERE organization_id IN (${organizations})`,
      parameters,
    ),
    statement(
      manager,
      `SELECT * FROM grants WHERE organization_id IN (${organizations})
       AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > :now)`,
      { ...parameters, now },
    ),
    statement(
      manager,
      `SELECT * FROM organization_usage_counters WHERE organization_id IN (${organizations})
       AND (period_start >= :earliest OR period_start = :lifetime)`,
      { ...parameters, earliest: earliestCurrentPeriodStart(now), lifetime: new Date(0) },
    ),
  ];
}

/**
 * Rows of organization licenses, their grants and pooled usage (those of `organizationStatements`), as organization
 * records by id (no pooled usage without its rows).
 */
export function organizationRecords(
  manager: EntityManager,
  [licenseRows, grantRows, counterRows = []]: Record<string, unknown>[][],
  catalog: Catalog,
  now: Date,
): Map<string, OrganizationRecord> {
  const grants = groupBy(
    hydrate(manager, GrantRow, grantRows).map(toGrant),
    (grant) => grant.organizationId!,
  );
  const counters = groupBy(
    hydrate(manager, OrganizationUsageCounterRow, counterRows),
    (row) => row.organizationId,
  );
  return new Map(
    hydrate(manager, OrganizationLicenseRow, licenseRows).map((row) => [
      row.organizationId,
      {
        license: toOrganizationLicense(row),
        grants: grants.get(row.organizationId) ?? [],
        usedByFeature: currentUsage(
          (counters.get(row.organizationId) ?? []).map((counter) => ({
            ...counter,
            used: Number(counter.used),
          })),
          catalog.features,
          now,
        ),
      },
    ]),
  );
}

/** Each seat with its organization's record (every seat's organization has a license: seats need one). */
export function seatedOrganizations(
  seats: Seat[],
  records: Map<string, OrganizationRecord>,
): OrganizationState[] {
  return seats.flatMap((seat) => {
    const record = records.get(seat.organizationId);
    return record ? [{ ...record, seat }] : [];
  });
}

/** Organization licenses: read in batches, locked for changes. */
export class OrganizationStore {
  constructor(private readonly db: Database) {}

  /** Organizations with their license, grants and pooled usage; those without a license are absent. */
  async records(
    manager: EntityManager,
    organizationIds: readonly string[],
    catalog: Catalog,
    now: Date,
  ): Promise<Map<string, OrganizationRecord>> {
    if (organizationIds.length === 0) return new Map();
    const rows = await this.db.readBatch(
      manager,
      organizationStatements(manager, ':...organizationIds', { organizationIds: [...organizationIds] }, now),
    );
    return organizationRecords(manager, rows, catalog, now);
  }

  /**
   * Up to `take` seats held now in each organization, after seat id `after`, oldest first: one statement for
   * every organization a request lists.
   */
  async heldSeats(
    manager: EntityManager,
    organizationIds: readonly string[],
    after: number,
    take: number,
  ): Promise<Map<string, Seat[]>> {
    const { sql, parameters } = statement(
      manager,
      `SELECT * FROM (
         SELECT seats.*, ROW_NUMBER() OVER (PARTITION BY organization_id ORDER BY id) AS position FROM seats
         WHERE organization_id IN (:...organizationIds) AND held = 1 AND id > :after
       ) ranked WHERE position <= :take ORDER BY id`,
      { organizationIds: [...organizationIds], after, take },
    );
    const rows = hydrate(manager, SeatRow, await manager.query(sql, parameters));
    return groupBy(rows.map(toSeat), (seat) => seat.organizationId);
  }

  /**
   * Locks an organization's license row until commit and returns it (null without a license). Every change
   * to an organization and to its seats takes this lock first, so they are serialized per organization.
   */
  async lock(manager: EntityManager, organizationId: string): Promise<OrganizationLicenseRow | null> {
    const { sql, parameters } = statement(
      manager,
      `SELECT * FROM organization_licenses WHERE organization_id = :organizationId${this.db.forUpdateClause}`,
      { organizationId },
    );
    const [row] = hydrate(manager, OrganizationLicenseRow, await manager.query(sql, parameters));
    return row ?? null;
  }
}
