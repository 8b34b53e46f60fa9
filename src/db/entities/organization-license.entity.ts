import { Column, Entity, PrimaryColumn } from 'typeorm';

import type { LicenseStatus } from '../../domain/types';
import { timestamp } from './columns';

/** An organization's license: its tier and how many seats it may hand out. No row: no license. */
@Entity('organization_licenses')
export class OrganizationLicenseRow {
  @PrimaryColumn({ name: 'organization_id', type: 'varchar', length: 128 })
  organizationId!: string;

  @Column({ name: 'tier_key', type: 'varchar', length: 64 })
  tierKey!: string;

  @Column({ name: 'seat_limit', type: 'int', nullable: true })
  seatLimit!: number | null;

  @Column({ name: 'seats_used', type: 'int', default: 0 })
  seatsUsed!: number;

  @Column({ type: 'varchar', length: 16 })
  status!: LicenseStatus;

  @Column(timestamp({ name: 'revoked_at', nullable: true }))
  revokedAt!: Date | null;

  @Column({ name: 'revoke_reason', type: 'varchar', length: 1000, nullable: true })
  revokeReason!: string | null;

  @Column(timestamp({ name: 'created_at' }))
  createdAt!: Date;

  @Column(timestamp({ name: 'updated_at' }))
  updatedAt!: Date;
}
