import { Column, Entity, PrimaryColumn } from 'typeorm';

import { timestamp } from './columns';

/** A pooled meter: what an organization's seat holders used together of one feature in one period. */
@Entity('organization_usage_counters')
export class OrganizationUsageCounterRow {
  @PrimaryColumn({ name: 'organization_id', type: 'varchar', length: 128 })
  organizationId!: string;

  @PrimaryColumn({ name: 'feature_key', type: 'varchar', length: 64 })
  featureKey!: string;

  @PrimaryColumn({ name: 'period_start', type: 'datetime', precision: 3 })
  periodStart!: Date;

  // BIGINT: MySQL returns it as a string, SQLite as a number; readers convert with Number().
  @Column({ type: 'bigint', default: 0 })
  used!: string | number;

  @Column(timestamp({ name: 'limit_reached_at', nullable: true }))
  limitReachedAt!: Date | null;

  @Column(timestamp({ name: 'updated_at' }))
  updatedAt!: Date;
}
