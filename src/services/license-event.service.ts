import { MoreThan } from 'typeorm';
import type { EntityManager, FindOptionsWhere } from 'typeorm';

import { assertCanReadEvents } from '../auth/access';
import type { Caller } from '../auth/caller';
import type { Database } from '../db/database';
import { LicenseEventRow } from '../db/entities';
import { toLicenseEvent } from '../db/mappers';
import { checkCursor, checkPageSize, checkUserId } from '../domain/validation';
import type { LicenseEvent } from '../domain/types';

export type NewLicenseEvent = Pick<LicenseEvent, 'type' | 'userId' | 'actor'> &
  Partial<Pick<LicenseEvent, 'featureKey' | 'grantId' | 'fromTierKey' | 'toTierKey' | 'reason'>>;

export interface LicenseEventPage {
  events: LicenseEvent[];
  endCursor: string | null;
  hasMore: boolean;
}

const DEFAULT_PAGE_SIZE = 100;

/** The audit trail: events are written inside the transaction of the change they describe. */
export class LicenseEventLog {
  constructor(private readonly db: Database) {}

  async record(manager: EntityManager, event: NewLicenseEvent, occurredAt: Date): Promise<void> {
    await manager.insert(LicenseEventRow, {
      featureKey: null,
      grantId: null,
      fromTierKey: null,
      toTierKey: null,
      reason: null,
      ...event,
      occurredAt,
    });
  }

  /** Events oldest first, after the cursor; one extra row tells whether more follow. */
  async page(
    caller: Caller,
    query: { userId?: string | null; after?: string | null; first?: number | null },
  ): Promise<LicenseEventPage> {
    assertCanReadEvents(caller, query.userId ?? null);
    const first = checkPageSize(query.first ?? DEFAULT_PAGE_SIZE);
    const where: FindOptionsWhere<LicenseEventRow> = { id: MoreThan(checkCursor(query.after)) };
    if (query.userId !== null && query.userId !== undefined) where.userId = checkUserId(query.userId);
    const rows = await this.db.manager.find(LicenseEventRow, {
      where,
      order: { id: 'ASC' },
      take: first + 1,
    });
    const events = rows.slice(0, first).map(toLicenseEvent);
    // With nothing new, the cursor stays where the caller is, so passing it back polls from there.
    const endCursor = events.at(-1)?.id ?? query.after ?? null;
    return { events, endCursor, hasMore: rows.length > first };
  }
}
