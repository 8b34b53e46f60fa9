import { Column, Entity, PrimaryColumn } from 'typeorm';

import type { MeterScope } from '../../domain/types';
import { timestamp } from './columns';

/** A usage threshold a meter reached in a period: its row is what makes the alert fire once. */
@Entity('usage_alerts')
export class UsageAlertRow {
  @PrimaryColumn({ name: 'owner_kind', type: 'varchar', length: 16 })
  ownerKind!: MeterScope;

  @PrimaryColumn({ name: 'owner_id', type: 'varchar', length: 128 })
  ownerId!: string;

  @PrimaryColumn({ name: 'feature_key', type: 'varchar', length: 64 })
  featureKey!: string;

  @PrimaryColumn({ name: 'period_start', type: 'datetime', precision: 3 })
  periodStart!: Date;

  @PrimaryColumn({ type: 'int' })
  threshold!: number;

  @Column(timestamp({ name: 'reached_at' }))
  reachedAt!: Date;
}
