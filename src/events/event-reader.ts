import { In } from 'typeorm';

import type { CatalogStore } from '../db/catalog-store';
import type { Database } from '../db/database';
import { GrantRow, LicenseEventRow } from '../db/entities';
import { eventsAfter, seatHoldersAtEvents } from '../db/event-store';
import { toGrant } from '../db/mappers';
import type { AccessChange } from '../domain/access-change';
import { accessChange } from '../domain/access-change';
import type { EventFilter } from '../domain/event-filter';
import type { Catalog, Grant, LicenseEvent } from '../domain/types';

export interface DeliveredEvent {
  event: LicenseEvent;
  access: AccessChange | null;
  /** An organization's event (no user): who held a seat when it was stored; else empty. */
  seatHolders: string[];
  /** The catalog and the event's grant as they were read for delivery. */
  catalog: Catalog;
  grant: Grant | null;
}

/** The stored events as live delivery reads them: the outbox the feed follows and subscriptions replay. */
export class EventReader {
  constructor(
    private readonly db: Database,
    private readonly catalog: CatalogStore,
  ) {}

  /** The id of the newest stored event (0 when there is none). */
  async latestId(): Promise<number> {
    const [row] = await this.db.manager.find(LicenseEventRow, {
      order: { id: 'DESC' },
      take: 1,
      select: { id: true },
    });
    return row ? Number(row.id) : 0;
  }

  /**
   * Events after `after`, oldest first, ready for delivery: whether each gave or took access, and what
   * their fields point to (catalog, grant) read once for the whole batch, so that any number of
   * subscriptions resolve them without another query.
   */
  async readAfter(after: number, limit: number, filter: EventFilter = null): Promise<DeliveredEvent[]> {
    const events = await eventsAfter(this.db.manager, after, limit, filter);
    if (events.length === 0) return [];
    const grantIds = [
      ...new Set(events.map((event) => event.grantId).filter((id): id is string => id !== null)),
    ];
    // Only the feed (everyone's events) hands organization events to seat holders; a filtered replay is for one reader.
    const organizationEvents =
      filter === null ? events.filter((event) => event.userId === null && event.organizationId !== null) : [];
    const [catalog, grants, holders] = await Promise.all([
      this.catalog.current(),
      grantIds.length === 0 ? [] : this.db.manager.findBy(GrantRow, { id: In(grantIds) }),
      seatHoldersAtEvents(
        this.db.manager,
        organizationEvents.map((event) => event.id),
      ),
    ]);
    const grantById = new Map(grants.map((row) => [row.id, toGrant(row)]));
    const rankOf = (key: string) => catalog.tiers.get(key)?.rank ?? 0;
    return events.map((event) => ({
      event,
      access: accessChange(event, rankOf),
      seatHolders: holders.get(event.id) ?? NOBODY,
      catalog,
      grant: event.grantId === null ? null : (grantById.get(event.grantId) ?? null),
    }));
  }
}

const NOBODY: string[] = [];
