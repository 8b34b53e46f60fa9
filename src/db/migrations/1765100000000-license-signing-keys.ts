import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table } from 'typeorm';

/**
 * The license token signing key generated when LICENSE_SIGNING_KEYS is unset (outside production): one row,
 * written by whichever replica starts first and read by every other, so all of them sign with one key.
 */
export class LicenseSigningKeys1765100000000 implements MigrationInterface {
  name = 'LicenseSigningKeys1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'license_signing_keys',
        columns: [
          { name: 'name', type: 'varchar', length: '32', isPrimary: true },
          // The private JWK, as JSON.
          { name: 'private_jwk', type: 'text' },
          { name: 'created_at', type: 'datetime', precision: 3 },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('license_signing_keys');
  }
}
