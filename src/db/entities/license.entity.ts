import { Column, Entity, PrimaryColumn } from 'typeorm';

import type { LicenseStatus } from '../../domain/types';
import { timestamp } from './columns';

/** One row per identity whose license was ever changed; identities without a row have the default license. */
@Entity('licenses')
export class LicenseRow {
  @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 128 })
  userId!: string;

  @Column({ name: 'base_tier_key', type: 'varchar', length: 64, nullable: true })
  baseTierKey!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: LicenseStatus;

  @Column(timestamp({ name: 'revoked_at', nullable: true }))
  revokedAt!: Date | null;

  @Column({ name: 'revoke_reason', type: 'varchar', length: 1000, nullable: true })
  revokeReason!: string | null;

  @Column({ name: 'trial_tier_key', type: 'varchar', length: 64, nullable: true })
  trialTierKey!: string | null;

  @Column(timestamp({ name: 'trial_started_at', nullable: true }))
  trialStartedAt!: Date | null;

  @Column(timestamp({ name: 'trial_ends_at', nullable: true }))
  trialEndsAt!: Date | null;

  /** Set when TRIAL_ENDED was recorded for the current trial (by endTrial, or once by a replica's sweeper). */
  @Column(timestamp({ name: 'trial_end_recorded_at', nullable: true }))
  trialEndRecordedAt!: Date | null;

  @Column(timestamp({ name: 'created_at' }))
  createdAt!: Date;

  @Column(timestamp({ name: 'updated_at' }))
  updatedAt!: Date;
}
