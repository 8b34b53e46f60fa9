import { Column, Entity, PrimaryColumn } from 'typeorm';

import { timestamp } from './columns';

/**
 * A User an identity provider provisioned. `directory` is '' for the identity directory (tokens without an
 * organization) or the organization's id; userName and subject are unique within it.
 */
@Entity('scim_users')
export class ScimUserRow {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  directory!: string;

  @Column({ name: 'user_name', type: 'varchar', length: 255 })
  userName!: string;

  /** userName in lower case: SCIM compares it without regard to case, so "Alice" and "alice" are one user. */
  @Column({ name: 'user_name_key', type: 'varchar', length: 255 })
  userNameKey!: string;

  @Column({ name: 'external_id', type: 'varchar', length: 255, nullable: true })
  externalId!: string | null;

  @Column({ name: 'display_name', type: 'varchar', length: 255, nullable: true })
  displayName!: string | null;

  @Column({ name: 'display_name_key', type: 'varchar', length: 255, nullable: true })
  displayNameKey!: string | null;

  /** The identity's User id (the attribute its token's userIdAttribute names): whose license it governs. */
  @Column({ type: 'varchar', length: 128 })
  subject!: string;

  @Column({ type: 'boolean' })
  active!: boolean;

  /** Every other attribute (name, emails, the enterprise extension...) as a JSON object. */
  @Column({ type: 'text' })
  attributes!: string;

  @Column(timestamp({ name: 'created_at' }))
  createdAt!: Date;

  @Column(timestamp({ name: 'updated_at' }))
  updatedAt!: Date;
}
