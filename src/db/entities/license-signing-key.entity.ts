import { Column, Entity, PrimaryColumn } from 'typeorm';

import { timestamp } from './columns';

/** A generated license token signing key (see the migration LicenseSigningKeys). */
@Entity('license_signing_keys')
export class LicenseSigningKeyRow {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  name!: string;

  /** The private JWK, as JSON. */
  @Column({ name: 'private_jwk', type: 'text' })
  privateJwk!: string;

  @Column(timestamp({ name: 'created_at' }))
  createdAt!: Date;
}
