import { In, MoreThan } from 'typeorm';
import type { EntityManager, FindOptionsWhere } from 'typeorm';

import { assertAuthenticated, assertCanReadEvents, canReadEveryone } from '../auth/access';
import type { Caller } from '../auth/caller';
import type { Database } from '../db/database';
import { GrantRow, LicenseEventRow } from '../db/entities';
import { toGrant, toLicenseEvent } from '../db/mappers';
import { accessChange } from '../domain/access-change';
import type { AccessChange } from '../domain/access-change';
import { checkCursor, checkPageSize, checkUserId, DEFAULT_PAGE_SIZE } from '../domain/validation';
import type { Catalog, Grant, LicenseEvent, LicenseEventType } from '../domain/types';
import type { CatalogService } from './catalog.service';
import type { WebhookQueue } from './webhook-queue';

export type NewLicenseEvent = Pick<LicenseEvent, 'type' | 'userId' | 'actor'> &
  Partial<Pick<LicenseEvent, 'featureKey' | 'grantId' | 'fromTierKey' | 'toTierKey' | 'reason'>>;

export interface DeliveredEvent {
  event: LicenseEvent;
  access: AccessChange | null;
  /** The catalog and the event's grant as they were read for delivery. */
  catalog: Catalog;
  grant: Grant | null;
}

export interface LicenseEventPage {
  events: LicenseEvent[];
  endCursor: string | null;
  hasMore: boolean;
}

/**
 * The audit trail: events are written inside the transaction of the change they describe, and are the
 * outbox that live delivery reads from once they commit; their webhook deliveries are queued with them.
 */
export class LicenseEventLog {
  private readonly committedListeners = new Set<(type: LicenseEventType) => void>();

  constructor(
    private readonly db: Database,
    private readonly catalog: CatalogService,
    private readonly webhooks: WebhookQueue,
  ) {}

  /** Called once per event after the commit that wrote it, on this process. */
  onCommitted(listener: (type: LicenseEventType) => void): () => void {
    this.committedListeners.add(listener);
    return () => this.committedListeners.delete(listener);
  }

  async record(manager: EntityManager, event: NewLicenseEvent, occurredAt: Date): Promise<void> {
    // Taking this lock until commit makes ids become visible in id order, so that a reader which
    // follows ids (the event feed) can never pass over an event that commits later.
    if (this.db.isMysql) await manager.query('SELECT id FROM event_sequence WHERE id = 1 FOR UPDATE');
    this.db.afterCommit(manager, () => this.committedListeners.forEach((listener) => listener(event.type)));
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
      this.catalog.snapshot(),
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

  /**
   * Which user's events a subscription may follow: the one asked for (if the caller may read it), else
   * everyone's for a token with `entitlements:read`, else the caller's own.
   */
  streamFilter(caller: Caller, userId: string | null | undefined): string | null {
    if (userId !== null && userId !== undefined) {
      checkUserId(userId);
      assertCanReadEvents(caller, userId);
      return userId;
    }
    assertAuthenticated(caller);
    return canReadEveryone(caller) ? null : caller.subject;
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
