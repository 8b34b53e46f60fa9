import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import type { DeliveryStatus } from '../../domain/types';
import { timestamp } from './columns';

/** The durable queue: one row per event and endpoint, written in the event's own transaction. */
@Entity('webhook_deliveries')
export class WebhookDeliveryRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string | number;

  @Column({ name: 'endpoint_id', type: 'varchar', length: 36 })
  endpointId!: string;

  @Column({ name: 'event_id', type: 'bigint' })
  eventId!: string | number;

  @Column({ type: 'varchar', length: 16 })
  status!: DeliveryStatus;

  @Column({ type: 'int' })
  attempts!: number;

  @Column({ name: 'last_status_code', type: 'int', nullable: true })
  lastStatusCode!: number | null;

  /** Why the last attempt failed when there was no status code (timeout, refused, address not allowed). */
  @Column({ name: 'last_error', type: 'varchar', length: 255, nullable: true })
  lastError!: string | null;

  /** While PENDING: when it is due; a claimed delivery is pushed out by a lease, so a crash only delays it. */
  @Column(timestamp({ name: 'next_attempt_at', nullable: true }))
  nextAttemptAt!: Date | null;

  @Column(timestamp({ name: 'delivered_at', nullable: true }))
  deliveredAt!: Date | null;

  @Column(timestamp({ name: 'created_at' }))
  createdAt!: Date;
}
