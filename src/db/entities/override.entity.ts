import { Column, Entity, PrimaryColumn } from 'typeorm';

import type { OverrideEffect } from '../../domain/types';
import type { StoredJson } from './columns';
import { timestamp } from './columns';

/** One override of one feature for one identity, from when it was set until it ended (rows are kept). */
@Entity('overrides')
export class OverrideRow {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 128 })
  userId!: string;

  @Column({ name: 'feature_key', type: 'varchar', length: 64 })
  featureKey!: string;

  @Column({ type: 'varchar', length: 8 })
  effect!: OverrideEffect;

  @Column({ name: 'limit_amount', type: 'int', nullable: true })
  limit!: number | null;

  @Column({ type: 'simple-json', nullable: true })
  value!: StoredJson;

  @Column(timestamp({ name: 'expires_at', nullable: true }))
  expiresAt!: Date | null;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  reason!: string | null;

  @Column({ name: 'created_by', type: 'varchar', length: 255 })
  createdBy!: string;

  @Column(timestamp({ name: 'created_at' }))
  createdAt!: Date;

  /** When it was replaced or removed. */
  @Column(timestamp({ name: 'ended_at', nullable: true }))
  endedAt!: Date | null;

  /** Set by the one replica that recorded OVERRIDE_EXPIRED. */
  @Column(timestamp({ name: 'expiry_recorded_at', nullable: true }))
  expiryRecordedAt!: Date | null;
}
