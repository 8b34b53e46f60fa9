import type { EntityManager, FindOptionsWhere } from 'typeorm';
import { MoreThan } from 'typeorm';

import { assertCanReadEvents } from '../auth/access';
import type { Caller } from '../auth/caller';
import type { Database } from '../db/database';
import { LicenseEventRow } from '../db/entities';
import { toLicenseEvent } from '../db/mappers';
import type { WebhookQueue } from '../db/webhook-queue';
import type { LicenseEvent } from '../domain/types';
import { checkCursor, checkPageSize, checkUserId, DEFAULT_PAGE_SIZE } from '../domain/validation';
import type { CommittedEvents } from '../events/committed-events';

export type NewLicenseEvent = Pick<LicenseEvent, 'type' | 'userId' | 'actor'> &
  Partial<Pick<LicenseEvent, 'featureKey' | 'grantId' | 'fromTierKey' | 'toTierKey' | 'reason'>>;

export interface LicenseEventPage {
  events: LicenseEvent[];
  endCursor: string | null;
  hasMore: boolean;
}

/**
 * The audit trail: events are written inside the transaction of the change they describe, with their
 * webhook deliveries; once they commit they are the outbox that live delivery (events/) reads from.
 */
export class LicenseEventLog {
  constructor(
    private readonly db: Database,
    private readonly webhooks: WebhookQueue,
    private readonly committed: CommittedEvents,
  ) {}

  async record(manager: EntityManager, event: NewLicenseEvent, occurredAt: Date): Promise<void> {
    await this.db.lockEventSequence(manager);
    this.db.afterCommit(manager, () => this.committed.raise(event.type));
    const { identifiers } = await manager.insert(LicenseEventRow, {
      featureKey: null,
      grantId: null,
      fromTierKey: null,
      toTierKey: null,
      reason: null,
      ...event,
      occurredAt,
    });
    await this.webhooks.enqueue(manager, String(identifiers[0].id), event.type, new Date());
  }

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
