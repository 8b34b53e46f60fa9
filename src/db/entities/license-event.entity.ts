import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import type { AccessChange } from '../../domain/access-change';
import type { LicenseEventType } from '../../domain/types';
import { timestamp } from './columns';

/** The audit trail: one row per license change, written in the change's own transaction. */
@Entity('license_events')
export class LicenseEventRow {
  // MySQL returns BIGINT as a string, SQLite as a number; the mapper makes it a string either way.
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string | number;

  @Column({ type: 'varchar', length: 32 })
  type!: LicenseEventType;

  /** null for an organization's own grant or event. */
  @Column({ name: 'user_id', type: 'varchar', length: 128, nullable: true })
  userId!: string | null;

  @Column({ name: 'organization_id', type: 'varchar', length: 128, nullable: true })
  organizationId!: string | null;

  @Column({ name: 'feature_key', type: 'varchar', length: 64, nullable: true })
  featureKey!: string | null;

  @Column({ name: 'grant_id', type: 'varchar', length: 36, nullable: true })
  grantId!: string | null;

  @Column({ name: 'from_tier_key', type: 'varchar', length: 64, nullable: true })
  fromTierKey!: string | null;

  @Column({ name: 'to_tier_key', type: 'varchar', length: 64, nullable: true })
  toTierKey!: string | null;

  @Column({ type: 'varchar', length: 255 })
  actor!: string;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  reason!: string | null;

  /** USAGE_THRESHOLD_REACHED: the percentage reached. */
  @Column({ type: 'int', nullable: true })
  threshold!: number | null;

  /** Whether the event gave or took access, when the service that stored it decided (overrides). */
  @Column({ name: 'access_change', type: 'varchar', length: 8, nullable: true })
  accessChange!: AccessChange | null;

  @Column(timestamp({ name: 'occurred_at' }))
  occurredAt!: Date;
}
