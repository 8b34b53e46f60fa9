import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { timestamp } from './columns';

/** One seat of an organization held by one user, from its assignment to its end (rows are kept after). */
@Entity('seats')
export class SeatRow {
  // MySQL returns BIGINT as a string, SQLite as a number.
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string | number;

  @Column({ name: 'organization_id', type: 'varchar', length: 128 })
  organizationId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 128 })
  userId!: string;

  @Column(timestamp({ name: 'assigned_at' }))
  assignedAt!: Date;

  @Column({ name: 'assigned_by', type: 'varchar', length: 255 })
  assignedBy!: string;

  /** The SEAT_ASSIGNED event: the organization's events after it reach this user. */
  @Column({ name: 'assigned_event_id', type: 'bigint' })
  assignedEventId!: string | number;

  @Column(timestamp({ name: 'unassigned_at', nullable: true }))
  unassignedAt!: Date | null;

  /** The SEAT_UNASSIGNED event: the organization's events after it no longer reach this user. */
  @Column({ name: 'unassigned_event_id', type: 'bigint', nullable: true })
  unassignedEventId!: string | number | null;

  /** 1 while held, null once ended (see the migration: one held seat per user and organization). */
  @Column({ type: 'smallint', nullable: true })
  held!: number | null;
}
