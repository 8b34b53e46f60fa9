import { Column, Entity, PrimaryColumn } from 'typeorm';

import { timestamp } from './columns';

/** A Group an identity provider provisioned, in the directory of its token (see ScimUserRow). */
@Entity('scim_groups')
export class ScimGroupRow {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  directory!: string;

  @Column({ name: 'display_name', type: 'varchar', length: 255 })
  displayName!: string;

  /** displayName in lower case, unique in the directory: a group is named by it (group tiers map names). */
  @Column({ name: 'display_name_key', type: 'varchar', length: 255 })
  displayNameKey!: string;

  @Column({ name: 'external_id', type: 'varchar', length: 255, nullable: true })
  externalId!: string | null;

  @Column(timestamp({ name: 'created_at' }))
  createdAt!: Date;

  @Column(timestamp({ name: 'updated_at' }))
  updatedAt!: Date;
}

/** One User's membership of one Group, both of one directory. */
@Entity('scim_group_members')
export class ScimGroupMemberRow {
  @PrimaryColumn({ name: 'group_id', type: 'varchar', length: 36 })
  groupId!: string;

  @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;
}

/** A group name of the identity directory mapped to a tier (setGroupTier): its members have that tier too. */
@Entity('scim_group_tiers')
export class ScimGroupTierRow {
  /** The name in lower case, as `ScimGroupRow.displayNameKey`: the mapping holds whichever group has the name. */
  @PrimaryColumn({ name: 'group_key', type: 'varchar', length: 255 })
  groupKey!: string;

  /** The name as setGroupTier was last given it. */
  @Column({ name: 'group_name', type: 'varchar', length: 255 })
  groupName!: string;

  @Column({ name: 'tier_key', type: 'varchar', length: 64 })
  tierKey!: string;

  @Column({ name: 'updated_by', type: 'varchar', length: 255 })
  updatedBy!: string;

  @Column(timestamp({ name: 'updated_at' }))
  updatedAt!: Date;
}
