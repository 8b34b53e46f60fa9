import type { EntityManager } from 'typeorm';

import { assertCanReadEvents, eventFilterFor } from '../auth/access';
import type { Caller } from '../auth/caller';
import type { Database } from '../db/database';
import { LicenseEventRow } from '../db/entities';
import { eventsAfter } from '../db/event-store';
import type { WebhookQueue } from '../db/webhook-queue';
import type { LicenseEvent } from '../domain/types';
import { checkCursor, checkPageSize, DEFAULT_PAGE_SIZE } from '../domain/validation';
import type { CommittedEvents } from '../events/committed-events';

/** A new event names its user, its organization, or both (SEAT_*). */
export type NewLicenseEvent = Pick<LicenseEvent, 'type' | 'actor'> &
  Partial<
    Pick<
      LicenseEvent,
      | 'userId'
      | 'organizationId'
      | 'featureKey'
      | 'grantId'
      | 'fromTierKey'
      | 'toTierKey'
      | 'reason'
      | 'threshold'
      | 'accessChange'
    >
  >;

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

  /** Stores `event` in the transaction of `manager`; returns its id. */
  async record(manager: EntityManager, event: NewLicenseEvent, occurredAt: Date): Promise<string> {
    await this.db.lockEventSequence(manager);
    this.db.afterCommit(manager, () => this.committed.raise(event.type));
    const { identifiers } = await manager.insert(LicenseEventRow, {
      userId: null,
      organizationId: null,
      featureKey: null,
      grantId: null,
      fromTierKey: null,
      toTierKey: null,
      reason: null,
      threshold: null,
      accessChange: null,
      ...event,
      occurredAt,
    });
    const id = String(identifiers[0].id);
    await this.webhooks.enqueue(manager, id, event.type, new Date());
    return id;
  }

  /**
   * The audit trail, oldest first: everyone's, one organization's, or one user's (with the events of the
   * organizations where it held a seat, as its subscriptions receive them).
   */
  async page(
    caller: Caller,
    query: {
      userId?: string | null;
      organizationId?: string | null;
      after?: string | null;
      first?: number | null;
    },
  ): Promise<LicenseEventPage> {
    // Everyone's events (neither filter) need a token that reads everyone, unlike a subscription's default.
    if (!query.userId && !query.organizationId) assertCanReadEvents(caller, null);
    const filter = eventFilterFor(caller, query);
    const first = checkPageSize(query.first ?? DEFAULT_PAGE_SIZE);
    const rows = await eventsAfter(this.db.manager, checkCursor(query.after), first + 1, filter);
    const events = rows.slice(0, first);
    // With nothing new, the cursor stays where the caller is, so passing it back polls from there.
    const endCursor = events.at(-1)?.id ?? query.after ?? null;
    return { events, endCursor, hasMore: rows.length > first };
  }
}
