import { Column, Entity, PrimaryColumn } from 'typeorm';

import type { FeatureKind, MeterScope, UsagePeriod } from '../../domain/types';
import { timestamp } from './columns';

const THRESHOLDS = {
  to: (thresholds: number[] | undefined) => (thresholds ?? []).join(','),
  from: (stored: string | null) => (stored ? stored.split(',').map(Number) : []),
};

@Entity('features')
export class FeatureRow {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  key!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: FeatureKind;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  description!: string | null;

  @Column({ name: 'usage_period', type: 'varchar', length: 8 })
  usagePeriod!: UsagePeriod;

  @Column({ name: 'meter_scope', type: 'varchar', length: 16, default: 'USER' })
  meterScope!: MeterScope;

  /** Percentages of the limit, stored as "50,80". */
  @Column({ name: 'alert_thresholds', type: 'varchar', length: 64, default: '', transformer: THRESHOLDS })
  alertThresholds!: number[];

  @Column(timestamp({ name: 'created_at' }))
  createdAt!: Date;

  @Column(timestamp({ name: 'updated_at' }))
  updatedAt!: Date;
}
