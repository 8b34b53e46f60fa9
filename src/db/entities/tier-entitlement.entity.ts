import { Column, Entity, PrimaryColumn } from 'typeorm';

import type { StoredJson } from './columns';

@Entity('tier_entitlements')
export class TierEntitlementRow {
  @PrimaryColumn({ name: 'tier_key', type: 'varchar', length: 64 })
  tierKey!: string;

  @PrimaryColumn({ name: 'feature_key', type: 'varchar', length: 64 })
  featureKey!: string;

  // `limit` is a reserved word in SQL; the column name avoids quoting in hand-written queries.
  @Column({ name: 'limit_amount', type: 'int', nullable: true })
  limit!: number | null;

  /** A CONFIG entitlement's value, as JSON text (null: none). */
  @Column({ type: 'simple-json', nullable: true })
  value!: StoredJson;
}
