import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';
import { Table, TableColumn, TableIndex } from 'typeorm';

import { exactCollation } from './collation';

/**
 * Per-identity overrides (kept after they end, for the audit trail), usage alert thresholds on features, the
 * alerts already raised per meter and period (so each fires once), and two event columns: the threshold an
 * alert crossed, and the access change a service decided when only it could tell (an override's effect).
 */
export class OverridesAndAlerts1765060000000 implements MigrationInterface {
  name = 'OverridesAndAlerts1765060000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type === 'mysql';
    const exact: Partial<TableColumnOptions> = mysql
      ? { charset: 'utf8mb4', collation: await exactCollation(queryRunner) }
      : {};
    const time = (name: string, isNullable = false): TableColumnOptions => ({
      name,
      type: 'datetime',
      precision: 3,
      isNullable,
    });

    await queryRunner.createTable(
      new Table({
        name: 'overrides',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '128', ...exact },
          { name: 'feature_key', type: 'varchar', length: '64' },
          { name: 'effect', type: 'varchar', length: '8' },
          { name: 'limit_amount', type: 'int', isNullable: true },
          { name: 'value', type: 'text', isNullable: true },
          time('expires_at', true),
          { name: 'reason', type: 'varchar', length: '1000', isNullable: true },
          { name: 'created_by', type: 'varchar', length: '255', ...exact },
          time('created_at'),
          // Replaced or removed; an override that ran out keeps null here and has its expiry recorded.
          time('ended_at', true),
          time('expiry_recorded_at', true),
        ],
        foreignKeys: [
          { columnNames: ['feature_key'], referencedTableName: 'features', referencedColumnNames: ['key'] },
        ],
        indices: [
          new TableIndex({ name: 'idx_overrides_user', columnNames: ['user_id', 'ended_at'] }),
          new TableIndex({
            name: 'idx_overrides_unrecorded_expiry',
            columnNames: ['expiry_recorded_at', 'expires_at'],
          }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'usage_alerts',
        columns: [
          // USER or ORGANIZATION: whose meter (a user's own, or an organization's pool).
          { name: 'owner_kind', type: 'varchar', length: '16', isPrimary: true },
          { name: 'owner_id', type: 'varchar', length: '128', isPrimary: true, ...exact },
          { name: 'feature_key', type: 'varchar', length: '64', isPrimary: true },
          { ...time('period_start'), isPrimary: true },
          { name: 'threshold', type: 'int', isPrimary: true },
          time('reached_at'),
        ],
      }),
    );

    await queryRunner.addColumn(
      'features',
      new TableColumn({ name: 'alert_thresholds', type: 'varchar', length: '64', default: "''" }),
    );
    await queryRunner.addColumn(
      'license_events',
      new TableColumn({ name: 'threshold', type: 'int', isNullable: true }),
    );
    await queryRunner.addColumn(
      'license_events',
      new TableColumn({ name: 'access_change', type: 'varchar', length: '8', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('license_events', 'access_change');
    await queryRunner.dropColumn('license_events', 'threshold');
    await queryRunner.dropColumn('features', 'alert_thresholds');
    await queryRunner.dropTable('usage_alerts');
    await queryRunner.dropTable('overrides');
  }
}
