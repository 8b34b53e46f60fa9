import { Column, Entity, PrimaryColumn } from 'typeorm';

import { timestamp } from './columns';

/** The first request made with a key, and its response, per caller and operation. */
@Entity('idempotency_keys')
export class IdempotencyKeyRow {
  /** The `sub` of the token that used the key. */
  @PrimaryColumn({ type: 'varchar', length: 255 })
  caller!: string;

  @PrimaryColumn({ type: 'varchar', length: 32 })
  operation!: string;

  @PrimaryColumn({ name: 'idempotency_key', type: 'varchar', length: 255 })
  idempotencyKey!: string;

  @Column({ type: 'varchar', length: 36 })
  claim!: string;

  @Column({ name: 'request_hash', type: 'varchar', length: 64 })
  requestHash!: string;

  @Column({ type: 'text', nullable: true })
  response!: string | null;

  @Column(timestamp({ name: 'created_at' }))
  createdAt!: Date;
}
