import type { EntityManager } from 'typeorm';
import { IsNull } from 'typeorm';

import { accessProblem, assertCanReadEveryone, assertScope, canReadEveryone } from '../auth/access';
import type { Caller } from '../auth/caller';
import { actorOf, Scope } from '../auth/caller';
import type { CatalogStore } from '../db/catalog-store';
import type { Database } from '../db/database';
import { OrganizationLicenseRow, SeatRow, TierRow } from '../db/entities';
import { toSeat } from '../db/mappers';
import type { OrganizationRecord, OrganizationStore } from '../db/organization-store';
import { organizationEntitlements } from '../domain/effective';
import type { Catalog, Entitlement, OrganizationLicense, Seat } from '../domain/types';
import {
  checkCursor,
  checkKey,
  checkLimit,
  checkOrganizationId,
  checkPageSize,
  checkRequiredText,
  checkText,
  checkUserId,
  DEFAULT_PAGE_SIZE,
  organizationIdProblem,
} from '../domain/validation';
import { BadUserInputError, NotFoundError, SeatLimitReachedError } from '../errors';
import type { LicenseEventLog, NewLicenseEvent } from './license-event.service';

export interface OrganizationLicenseInput {
  organizationId: string;
  tier: string;
  seatLimit?: number | null;
  reason?: string | null;
}

/** What the Organization fields show, read once per organization and request. */
export interface OrganizationView {
  id: string;
  license: OrganizationLicense | null;
  /** What one seat gives now; empty while revoked or without a license. */
  entitlements: Entitlement[];
  now: Date;
}

/** A page of an organization's held seats, as Organization.seats asks it. */
export interface SeatPageRequest {
  organizationId: string;
  first?: number | null;
  after?: string | null;
}

export interface SeatPage {
  seats: Seat[];
  endCursor: string | null;
  hasMore: boolean;
}

/**
 * Organization licenses and their seats (rules O1, O2, O5). Every change locks the organization's license
 * row first, so changes to one organization, seat assignments included, happen one at a time and the seat
 * count is exact however many calls race; each change records its one event in the same transaction.
 */
export class OrganizationService {
  constructor(
    private readonly db: Database,
    private readonly store: OrganizationStore,
    private readonly catalog: CatalogStore,
    private readonly events: LicenseEventLog,
  ) {}

  /** Organization views in the order asked; an invalid id, or a caller who may not read, gets its own error. */
  async view(caller: Caller, organizationIds: readonly string[]): Promise<(OrganizationView | Error)[]> {
    if (!canReadEveryone(caller)) {
      const error = accessProblem(() => assertCanReadEveryone(caller, 'organizations'));
      return organizationIds.map(() => error!);
    }
    const now = new Date();
    const valid = organizationIds.filter((id) => organizationIdProblem(id) === null);
    const catalog = await this.catalog.current();
    const records = await this.store.records(this.db.manager, [...new Set(valid)], catalog, now);
    return organizationIds.map((id) => {
      const problem = organizationIdProblem(id);
      if (problem !== null) return new BadUserInputError('id', problem);
      return viewOf(id, records.get(id) ?? null, catalog, now);
    });
  }

  /**
   * Pages of the seats held now in organizations, oldest first, in the order asked: one statement per distinct
   * page (`first`, `after`), whatever the number of organizations. A bad page, or a caller who may not read,
   * gets its own error.
   */
  async seatPages(caller: Caller, requests: readonly SeatPageRequest[]): Promise<(SeatPage | Error)[]> {
    const denied = accessProblem(() => assertCanReadEveryone(caller, 'organizations'));
    if (denied) return requests.map(() => denied);
    const pages = requests.map(checkSeatPage);
    const queries = new Map<string, { first: number; after: number; organizationIds: Set<string> }>();
    requests.forEach(({ organizationId }, i) => {
      const page = pages[i];
      if (page instanceof Error) return;
      let query = queries.get(page.key);
      if (!query) queries.set(page.key, (query = { ...page, organizationIds: new Set() }));
      query.organizationIds.add(organizationId);
    });
    const held = new Map<string, Map<string, Seat[]>>();
    for (const [key, { first, after, organizationIds }] of queries) {
      // One more than the page, to tell whether more follow.
      held.set(key, await this.store.heldSeats(this.db.manager, [...organizationIds], after, first + 1));
    }
    return requests.map(({ organizationId, after }, i) => {
      const page = pages[i];
      if (page instanceof Error) return page;
      const rows = held.get(page.key)!.get(organizationId) ?? [];
      const seats = rows.slice(0, page.first);
      return { seats, endCursor: seats.at(-1)?.id ?? after ?? null, hasMore: rows.length > page.first };
    });
  }

  /** The organizations where `userId` holds or held a seat (seats are kept after they end). */
  async seatedOrganizations(userId: string): Promise<Set<string>> {
    const seats = await this.db.manager.findBy(SeatRow, { userId });
    return new Set(seats.map((seat) => seat.organizationId));
  }

  /** Creates the license, or sets its tier and seat limit (null: unlimited). A change to nothing records nothing. */
  async setLicense(caller: Caller, input: OrganizationLicenseInput): Promise<void> {
    assertScope(caller, Scope.write);
    const organizationId = checkOrganizationId(input.organizationId);
    const tierKey = checkKey(input.tier, 'tier');
    const seatLimit = checkLimit(input.seatLimit, 'seatLimit');
    const reason = checkText(input.reason, 'reason');
    await this.db.transaction(async (manager) => {
      const now = new Date();
      // On MySQL a locking read of a missing row takes a gap lock, and two holders of one deadlock on their
      // inserts, even for different organizations (new ids share the gap at the end of the index). A license
      // this call may create is locked after the event sequence lock, which its event takes anyway, so
      // creations take turns; an existing one is locked alone, as by every other change.
      if (!(await manager.existsBy(OrganizationLicenseRow, { organizationId }))) {
        await this.db.lockEventSequence(manager);
      }
      const license = await this.store.lock(manager, organizationId);
      if (!(await manager.existsBy(TierRow, { key: tierKey }))) throw new NotFoundError('Tier', tierKey);
      if (!license) {
        await manager.insert(OrganizationLicenseRow, {
          organizationId,
          tierKey,
          seatLimit,
          seatsUsed: 0,
          status: 'ACTIVE',
          revokedAt: null,
          revokeReason: null,
          createdAt: now,
          updatedAt: now,
        });
        await this.record(manager, caller, organizationId, { toTierKey: tierKey, reason }, now);
        return;
      }
      if (seatLimit !== null && seatLimit < license.seatsUsed) {
        throw new BadUserInputError(
          'seatLimit',
          `seatLimit ${seatLimit} is below the ${license.seatsUsed} seats in use; unassign seats first`,
        );
      }
      if (license.tierKey === tierKey && license.seatLimit === seatLimit) return;
      await manager.update(
        OrganizationLicenseRow,
        { organizationId },
        { tierKey, seatLimit, updatedAt: now },
      );
      await this.record(
        manager,
        caller,
        organizationId,
        { fromTierKey: license.tierKey, toTierKey: tierKey, reason },
        now,
      );
    });
  }

  /** Ends every seat's access through this organization at once; seats, tier and grants are kept for a restore. */
  async revokeLicense(caller: Caller, organizationIdInput: string, reasonInput: string): Promise<void> {
    assertScope(caller, Scope.write);
    const organizationId = checkOrganizationId(organizationIdInput);
    const reason = checkRequiredText(reasonInput, 'reason');
    await this.changeStatus(caller, organizationId, 'REVOKED', reason);
  }

  async restoreLicense(
    caller: Caller,
    organizationIdInput: string,
    reasonInput?: string | null,
  ): Promise<void> {
    assertScope(caller, Scope.write);
    const organizationId = checkOrganizationId(organizationIdInput);
    const reason = checkText(reasonInput, 'reason');
    await this.changeStatus(caller, organizationId, 'ACTIVE', reason);
  }

  /**
   * Gives `userId` a seat (rule O2): exactly as many of any number of racing calls succeed as seats are
   * free, because each counts under the organization's lock. A seat already held comes back unchanged.
   */
  async assignSeat(
    caller: Caller,
    organizationIdInput: string,
    userIdInput: string,
    reasonInput?: string | null,
  ): Promise<Seat> {
    assertScope(caller, Scope.write);
    const organizationId = checkOrganizationId(organizationIdInput);
    const userId = checkUserId(userIdInput);
    const reason = checkText(reasonInput, 'reason');
    return this.db.transaction((manager) =>
      this.assignSeatWithin(manager, organizationId, userId, actorOf(caller), reason),
    );
  }

  /**
   * assignSeat inside a transaction the caller holds, for an actor that is not a token's `sub` (SCIM's
   * `scim:<token id>`): the caller's change and the seat commit together, or neither does. Throws NOT_FOUND
   * without a license and SEAT_LIMIT_REACHED when no seat is free.
   */
  async assignSeatWithin(
    manager: EntityManager,
    organizationId: string,
    userId: string,
    actor: string,
    reason: string | null,
  ): Promise<Seat> {
    const license = await this.requireLicense(manager, organizationId);
    const held = await manager.findOneBy(SeatRow, { organizationId, userId, held: 1 });
    if (held) return toSeat(held);
    if (license.seatLimit !== null && license.seatsUsed >= license.seatLimit) {
      throw new SeatLimitReachedError(organizationId, license.seatLimit);
    }
    const now = new Date();
    const eventId = await this.events.record(
      manager,
      { type: 'SEAT_ASSIGNED', organizationId, userId, actor, reason },
      now,
    );
    const seat: Omit<SeatRow, 'id'> = {
      organizationId,
      userId,
      assignedAt: now,
      assignedBy: actor,
      assignedEventId: eventId,
      unassignedAt: null,
      unassignedEventId: null,
      held: 1,
    };
    const { identifiers } = await manager.insert(SeatRow, seat);
    await manager.update(
      OrganizationLicenseRow,
      { organizationId },
      { seatsUsed: license.seatsUsed + 1, updatedAt: now },
    );
    return toSeat({ ...seat, id: identifiers[0].id as string });
  }

  /** Takes the user's seat back; the seat as it was is returned. */
  async unassignSeat(
    caller: Caller,
    organizationIdInput: string,
    userIdInput: string,
    reasonInput?: string | null,
  ): Promise<Seat> {
    assertScope(caller, Scope.write);
    const organizationId = checkOrganizationId(organizationIdInput);
    const userId = checkUserId(userIdInput);
    const reason = checkText(reasonInput, 'reason');
    return this.db.transaction(async (manager) => {
      await this.requireLicense(manager, organizationId);
      const seat = await this.unassignSeatWithin(manager, organizationId, userId, actorOf(caller), reason);
      if (!seat) throw new NotFoundError('Seat', `${organizationId}/${userId}`);
      return seat;
    });
  }

  /** unassignSeat inside a transaction the caller holds (see assignSeatWithin); null when no seat is held. */
  async unassignSeatWithin(
    manager: EntityManager,
    organizationId: string,
    userId: string,
    actor: string,
    reason: string | null,
  ): Promise<Seat | null> {
    const license = await this.store.lock(manager, organizationId);
    const held = license && (await manager.findOneBy(SeatRow, { organizationId, userId, held: 1 }));
    if (!license || !held) return null;
    const now = new Date();
    const eventId = await this.events.record(
      manager,
      { type: 'SEAT_UNASSIGNED', organizationId, userId, actor, reason },
      now,
    );
    await manager.update(
      SeatRow,
      { id: held.id, unassignedAt: IsNull() },
      { held: null, unassignedAt: now, unassignedEventId: eventId },
    );
    await manager.update(
      OrganizationLicenseRow,
      { organizationId },
      { seatsUsed: license.seatsUsed - 1, updatedAt: now },
    );
    return toSeat(held);
  }

  /** The organization's license, locked until commit; NOT_FOUND without one. */
  async requireLicense(manager: EntityManager, organizationId: string): Promise<OrganizationLicenseRow> {
    const license = await this.store.lock(manager, organizationId);
    if (!license) throw new NotFoundError('Organization license', organizationId);
    return license;
  }

  private async changeStatus(
    caller: Caller,
    organizationId: string,
    status: OrganizationLicense['status'],
    reason: string | null,
  ): Promise<void> {
    await this.db.transaction(async (manager) => {
      const license = await this.requireLicense(manager, organizationId);
      if (license.status === status) return;
      const now = new Date();
      const revoked = status === 'REVOKED';
      await manager.update(
        OrganizationLicenseRow,
        { organizationId },
        { status, revokedAt: revoked ? now : null, revokeReason: revoked ? reason : null, updatedAt: now },
      );
      await this.events.record(
        manager,
        {
          type: revoked ? 'ORGANIZATION_LICENSE_REVOKED' : 'ORGANIZATION_LICENSE_RESTORED',
          organizationId,
          actor: actorOf(caller),
          reason,
        },
        now,
      );
    });
  }

  private async record(
    manager: EntityManager,
    caller: Caller,
    organizationId: string,
    change: Pick<NewLicenseEvent, 'fromTierKey' | 'toTierKey' | 'reason'>,
    now: Date,
  ): Promise<void> {
    await this.events.record(
      manager,
      { type: 'ORGANIZATION_LICENSE_CHANGED', organizationId, actor: actorOf(caller), ...change },
      now,
    );
  }
}

function viewOf(
  id: string,
  record: OrganizationRecord | null,
  catalog: Catalog,
  now: Date,
): OrganizationView {
  return {
    id,
    license: record?.license ?? null,
    entitlements: record ? organizationEntitlements(record, catalog, now) : [],
    now,
  };
}

/** The page a request asks for, validated, with a key shared by the requests one statement can answer. */
function checkSeatPage(request: SeatPageRequest): { first: number; after: number; key: string } | Error {
  try {
    const first = checkPageSize(request.first ?? DEFAULT_PAGE_SIZE);
    const after = checkCursor(request.after, 'after', 'an endCursor of this list');
    return { first, after, key: `${first}:${after}` };
  } catch (error) {
    return error as Error;
  }
}
