import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import type { StoredJson } from './columns';
import { timestamp } from './columns';

export type CatalogEntity = 'FEATURE' | 'TIER';

/** The catalog's audit trail: one row per feature or tier change, written in the change's own transaction. */
@Entity('catalog_changes')
export class CatalogChangeRow {
  // MySQL returns BIGINT as a string, SQLite as a number.
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string | number;

  @Column({ type: 'varchar', length: 16 })
  entity!: CatalogEntity;

  @Column({ name: 'entity_key', type: 'varchar', length: 64 })
  entityKey!: string;

  /** The `sub` of the caller that made the change. */
  @Column({ type: 'varchar', length: 255 })
  actor!: string;

  /** The feature or tier as it was; null when the change created it. */
  @Column({ name: 'before_state', type: 'simple-json', nullable: true })
  before!: StoredJson;

  @Column({ name: 'after_state', type: 'simple-json' })
  after!: StoredJson;

  @Column(timestamp({ name: 'occurred_at' }))
  occurredAt!: Date;
}
