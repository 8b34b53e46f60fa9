import { Column, Entity, PrimaryColumn } from 'typeorm';

import { timestamp } from './columns';

/** Where license events are POSTed. The secret is kept to sign deliveries and never read back out. */
@Entity('webhook_endpoints')
export class WebhookEndpointRow {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 2048 })
  url!: string;

  @Column({ type: 'varchar', length: 128 })
  secret!: string;

  /** `,TYPE,TYPE,` so that one LIKE matches a type; empty for every type. */
  @Column({ name: 'event_types', type: 'varchar', length: 512 })
  eventTypes!: string;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  @Column({ name: 'created_by', type: 'varchar', length: 255 })
  createdBy!: string;

  @Column(timestamp({ name: 'created_at' }))
  createdAt!: Date;
}
