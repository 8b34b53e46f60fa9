import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table } from 'typeorm';

import { exactCollation } from './collation';

/**
 * Tiers from identity attributes (rule S4): a SCIM group name of the identity directory mapped to a tier. Keyed
 * by the name in lower case, in the collation of `scim_groups.display_name_key`, which it is joined with.
 */
export class ScimGroupTiers1765140000000 implements MigrationInterface {
  name = 'ScimGroupTiers1765140000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type === 'mysql';
    const exact = mysql ? { charset: 'utf8mb4', collation: await exactCollation(queryRunner) } : {};
    await queryRunner.createTable(
      new Table({
        name: 'scim_group_tiers',
        columns: [
          { name: 'group_key', type: 'varchar', length: '255', isPrimary: true, ...exact },
          { name: 'group_name', type: 'varchar', length: '255', ...exact },
          { name: 'tier_key', type: 'varchar', length: '64' },
          { name: 'updated_by', type: 'varchar', length: '255', ...exact },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('scim_group_tiers');
  }
}
