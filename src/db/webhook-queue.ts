import type { EntityManager } from 'typeorm';
import { In, LessThan } from 'typeorm';

import type { LicenseEvent, LicenseEventType } from '../domain/types';
import type { Database } from './database';
import { LicenseEventRow, WebhookDeliveryRow, WebhookEndpointRow } from './entities';
import { toLicenseEvent } from './mappers';
import { statement } from './raw-sql';

const PRUNE_BATCH = 1000;

/** How long a claimed delivery stays invisible to other replicas; longer than any one attempt. */
export const DELIVERY_LEASE_MS = 60_000;

/** A claimed delivery with what its attempt needs. */
export interface DueDelivery {
  id: string;
  endpointId: string;
  attempts: number;
  createdAt: Date;
  url: string;
  secret: string;
  event: LicenseEvent;
}

export type AttemptResult =
  | { outcome: 'delivered'; statusCode: number }
  | { outcome: 'retry'; nextAttemptAt: Date; statusCode: number | null; error: string | null }
  | { outcome: 'failed'; statusCode: number | null; error: string | null }
  /** The receiver answered 410 Gone: the endpoint is disabled and its pending deliveries fail. */
  | { outcome: 'gone' };

/**
 * The durable webhook queue. Deliveries are written in the transaction that records their event, so an
 * event is never stored without them; replicas claim due rows in batches (FOR UPDATE SKIP LOCKED) and
 * push them out by a lease, so each attempt is made by one replica and a crash only delays it.
 */
export class WebhookQueue {
  constructor(private readonly db: Database) {}

  /**
   * Forgets finished deliveries (DELIVERED, FAILED) created before `before`, a thousand at a time; pending ones
   * stay whatever their age. The ids are found by a plain read and deleted by key, so that a batch locks only
   * the rows it deletes (a DELETE with a subquery read, and locked, the whole queue on MariaDB). Returns how many.
   */
  async prune(before: Date): Promise<number> {
    const finished = In(['DELIVERED', 'FAILED']);
    let pruned = 0;
    for (;;) {
      const rows = await this.db.manager.find(WebhookDeliveryRow, {
        select: { id: true },
        where: { status: finished, createdAt: LessThan(before) },
        order: { id: 'ASC' },
        take: PRUNE_BATCH,
      });
      if (rows.length === 0) return pruned;
      const { affected } = await this.db.manager.delete(WebhookDeliveryRow, {
        id: In(rows.map((row) => row.id)),
        status: finished,
      });
      pruned += affected ?? 0;
      if (rows.length < PRUNE_BATCH) return pruned;
    }
  }

  /** One statement, whatever the number of endpoints: a delivery for every enabled endpoint wanting `type`. */
  async enqueue(manager: EntityManager, eventId: string, type: LicenseEventType, now: Date): Promise<void> {
    // No INSERT ... SELECT in TypeORM's builder; the driver still binds the values its own way.
    const { sql, parameters } = statement(
      manager,
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, status, attempts, next_attempt_at, created_at)
       SELECT id, :eventId, 'PENDING', 0, :now, :now FROM webhook_endpoints
       WHERE enabled = :enabled AND (event_types = '' OR event_types LIKE :pattern)`,
      { eventId, now, enabled: true, pattern: `%,${type},%` },
    );
    await manager.query(sql, parameters);
  }

  /**
   * Claims up to `limit` due deliveries, except to `skipEndpoints`: their attempt is counted and they are
   * leased to this replica.
   */
  async claimDue(limit: number, skipEndpoints: string[] = [], now = new Date()): Promise<DueDelivery[]> {
    const claimed = await this.db.transaction(async (manager) => {
      const query = manager
        .createQueryBuilder(WebhookDeliveryRow, 'delivery')
        .select(['delivery.id'])
        .where("delivery.status = 'PENDING' AND delivery.next_attempt_at <= :now", { now })
        .orderBy('delivery.next_attempt_at')
        .take(limit);
      if (skipEndpoints.length > 0)
        query.andWhere('delivery.endpoint_id NOT IN (:...skipEndpoints)', { skipEndpoints });
      const ids = (await this.db.claimSkippingLocked(query).getMany()).map((row) => row.id);
      if (ids.length === 0) return [];
      await manager
        .createQueryBuilder()
        .update(WebhookDeliveryRow)
        .set({ attempts: () => 'attempts + 1', nextAttemptAt: new Date(now.getTime() + DELIVERY_LEASE_MS) })
        .whereInIds(ids)
        .execute();
      return ids;
    });
    return claimed.length === 0 ? [] : this.load(claimed);
  }

  /** Stores the outcome, unless the delivery stopped being pending meanwhile (its endpoint was disabled). */
  async recordAttempt(deliveryId: string, result: AttemptResult, now = new Date()): Promise<void> {
    if (result.outcome === 'gone') {
      await this.disableEndpointOf(deliveryId);
      return;
    }
    const changes: Partial<WebhookDeliveryRow> =
      result.outcome === 'delivered'
        ? {
            status: 'DELIVERED',
            deliveredAt: now,
            nextAttemptAt: null,
            lastStatusCode: result.statusCode,
            lastError: null,
          }
        : {
            status: result.outcome === 'retry' ? 'PENDING' : 'FAILED',
            nextAttemptAt: result.outcome === 'retry' ? result.nextAttemptAt : null,
            lastStatusCode: result.statusCode,
            lastError: result.error?.slice(0, 255) ?? null,
          };
    await this.db.manager.update(WebhookDeliveryRow, { id: deliveryId, status: 'PENDING' }, changes);
  }

  private async disableEndpointOf(deliveryId: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      const delivery = await manager.findOneBy(WebhookDeliveryRow, { id: deliveryId });
      if (!delivery) return;
      await manager.update(WebhookEndpointRow, { id: delivery.endpointId }, { enabled: false });
      await manager.update(
        WebhookDeliveryRow,
        { endpointId: delivery.endpointId, status: 'PENDING' },
        { status: 'FAILED', nextAttemptAt: null },
      );
      await manager.update(WebhookDeliveryRow, { id: deliveryId }, { lastStatusCode: 410, lastError: null });
    });
  }

  private async load(ids: (string | number)[]): Promise<DueDelivery[]> {
    const deliveries = await this.db.manager.findBy(WebhookDeliveryRow, { id: In(ids) });
    const [endpoints, events] = await Promise.all([
      this.db.manager.findBy(WebhookEndpointRow, {
        id: In([...new Set(deliveries.map((d) => d.endpointId))]),
      }),
      this.db.manager.findBy(LicenseEventRow, { id: In([...new Set(deliveries.map((d) => d.eventId))]) }),
    ]);
    const endpointById = new Map(endpoints.map((row) => [row.id, row]));
    const eventById = new Map(events.map((row) => [String(row.id), toLicenseEvent(row)]));
    return deliveries.flatMap((delivery) => {
      const endpoint = endpointById.get(delivery.endpointId);
      const event = eventById.get(String(delivery.eventId));
      // An endpoint deleted since the claim takes its deliveries with it.
      if (!endpoint || !event) return [];
      return [
        {
          id: String(delivery.id),
          endpointId: delivery.endpointId,
          attempts: delivery.attempts,
          createdAt: delivery.createdAt,
          url: endpoint.url,
          secret: endpoint.secret,
          event,
        },
      ];
    });
  }
}
