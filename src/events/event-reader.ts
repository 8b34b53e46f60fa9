import type { FindOptionsWhere } from 'typeorm';
import { In, MoreThan } from 'typeorm';

import type { CatalogStore } from '../db/catalog-store';
import type { Database } from '../db/database';
import { GrantRow, LicenseEventRow } from '../db/entities';
import { toGrant, toLicenseEvent } from '../db/mappers';
import type { AccessChange } from '../domain/access-change';
import { accessChange } from '../domain/access-change';
import type { Catalog, Grant, LicenseEvent } from '../domain/types';

export interface DeliveredEvent {
  event: LicenseEvent;
  access: AccessChange | null;
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
  async readAfter(after: number, limit: number, userId: string | null = null): Promise<DeliveredEvent[]> {
    const where: FindOptionsWhere<LicenseEventRow> = { id: MoreThan(after) };
    if (userId !== null) where.userId = userId;
    const rows = await this.db.manager.find(LicenseEventRow, { where, order: { id: 'ASC' }, take: limit });
    if (rows.length === 0) return [];
    const events = rows.map(toLicenseEvent);
    const grantIds = [
      ...new Set(events.map((event) => event.grantId).filter((id): id is string => id !== null)),
    ];
    const [catalog, grants] = await Promise.all([
      this.catalog.current(),
      grantIds.length === 0 ? [] : this.db.manager.findBy(GrantRow, { id: In(grantIds) }),
    ]);
    const grantById = new Map(grants.map((row) => [row.id, toGrant(row)]));
    const rankOf = (key: string) => catalog.tiers.get(key)?.rank ?? 0;
    return events.map((event) => ({
      event,
      access: accessChange(event, rankOf),
      catalog,
      grant: event.grantId === null ? null : (grantById.get(event.grantId) ?? null),
    }));
  }
}
