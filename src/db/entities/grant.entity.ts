import { Column, Entity, PrimaryColumn } from 'typeorm';

import type { StoredJson } from './columns';
import { timestamp } from './columns';

@Entity('grants')
export class GrantRow {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** null for an organization's own grant or event. */
  @Column({ name: 'user_id', type: 'varchar', length: 128, nullable: true })
  userId!: string | null;

  @Column({ name: 'organization_id', type: 'varchar', length: 128, nullable: true })
  organizationId!: string | null;

  @Column({ name: 'feature_key', type: 'varchar', length: 64 })
  featureKey!: string;

  @Column({ name: 'limit_amount', type: 'int', nullable: true })
  limit!: number | null;

  /** A CONFIG grant's value, as JSON text (null: none). */
  @Column({ type: 'simple-json', nullable: true })
  value!: StoredJson;

  @Column(timestamp({ name: 'starts_at' }))
  startsAt!: Date;

  @Column(timestamp({ name: 'expires_at', nullable: true }))
  expiresAt!: Date | null;

  @Column(timestamp({ name: 'revoked_at', nullable: true }))
  revokedAt!: Date | null;

  @Column({ name: 'revoke_reason', type: 'varchar', length: 1000, nullable: true })
  revokeReason!: string | null;

  @Column({ name: 'granted_by', type: 'varchar', length: 255 })
  grantedBy!: string;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  reason!: string | null;

  @Column(timestamp({ name: 'created_at' }))
  createdAt!: Date;

  /** Set by the one replica that recorded ENTITLEMENT_EXPIRED for this grant. */
  @Column(timestamp({ name: 'expiry_recorded_at', nullable: true }))
  expiryRecordedAt!: Date | null;
}
