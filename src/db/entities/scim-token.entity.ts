import { Column, Entity, PrimaryColumn } from 'typeorm';

import type { ScimUserIdAttribute } from '../../domain/scim/resources';
import { timestamp } from './columns';

/** A bearer token for /scim/v2. Only a hash of its secret is kept; the token itself was shown once. */
@Entity('scim_tokens')
export class ScimTokenRow {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** SHA-256 of the secret part, hex. The secret is 256 random bits, so a fast hash is enough. */
  @Column({ name: 'secret_hash', type: 'varchar', length: 64 })
  secretHash!: string;

  /** Null: the token governs identities (the identity directory); else that organization's directory. */
  @Column({ name: 'organization_id', type: 'varchar', length: 128, nullable: true })
  organizationId!: string | null;

  @Column({ name: 'user_id_attribute', type: 'varchar', length: 16 })
  userIdAttribute!: ScimUserIdAttribute;

  @Column({ name: 'created_by', type: 'varchar', length: 255 })
  createdBy!: string;

  @Column(timestamp({ name: 'created_at' }))
  createdAt!: Date;

  @Column(timestamp({ name: 'revoked_at', nullable: true }))
  revokedAt!: Date | null;
}
