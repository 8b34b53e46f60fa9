import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';
import { Table, TableColumn, TableIndex } from 'typeorm';

import { exactCollation } from './collation';
import { increasingId } from './columns';

/**
 * Organizations and seats: an organization's license, its seats (kept after they end, so that who held a
 * seat when an event was stored can be told later: replays reach the same seat holders as live delivery),
 * its pooled meters, and an owner column on grants and events, whose user becomes optional.
 */
export class Organizations1764940000000 implements MigrationInterface {
  name = 'Organizations1764940000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type === 'mysql';
    const exact: Partial<TableColumnOptions> = mysql
      ? { charset: 'utf8mb4', collation: await exactCollation(queryRunner) }
      : {};
    const identity = (name: string, isNullable = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: '128',
      isNullable,
      ...exact,
    });
    const time = (name: string, isNullable = false): TableColumnOptions => ({
      name,
      type: 'datetime',
      precision: 3,
      isNullable,
    });
    const eventId = (name: string, isNullable = false): TableColumnOptions => ({
      name,
      type: mysql ? 'bigint' : 'integer',
      isNullable,
    });

    await queryRunner.addColumn(
      'features',
      new TableColumn({ name: 'meter_scope', type: 'varchar', length: '16', default: "'USER'" }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'organization_licenses',
        columns: [
          { ...identity('organization_id'), isPrimary: true },
          { name: 'tier_key', type: 'varchar', length: '64' },
          { name: 'seat_limit', type: 'int', isNullable: true },
          // Kept in step with the seats under this row's lock, so that a seat is counted without a scan.
          { name: 'seats_used', type: 'int', default: 0 },
          { name: 'status', type: 'varchar', length: '16' },
          time('revoked_at', true),
          { name: 'revoke_reason', type: 'varchar', length: '1000', isNullable: true },
          time('created_at'),
          time('updated_at'),
        ],
        foreignKeys: [
          { columnNames: ['tier_key'], referencedTableName: 'tiers', referencedColumnNames: ['key'] },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'seats',
        columns: [
          increasingId(queryRunner),
          identity('organization_id'),
          identity('user_id'),
          time('assigned_at'),
          { name: 'assigned_by', type: 'varchar', length: '255', ...exact },
          eventId('assigned_event_id'),
          time('unassigned_at', true),
          eventId('unassigned_event_id', true),
          // 1 while the seat is held, NULL once it ended: NULLs never collide in a unique index, so this
          // allows one held seat per user and organization next to any number of ended ones.
          { name: 'held', type: 'smallint', isNullable: true },
        ],
        uniques: [{ name: 'uq_seats_held', columnNames: ['organization_id', 'user_id', 'held'] }],
        indices: [
          // An organization's seats, oldest first; a user's seats.
          new TableIndex({ name: 'idx_seats_organization', columnNames: ['organization_id', 'held', 'id'] }),
          new TableIndex({ name: 'idx_seats_user', columnNames: ['user_id', 'held'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'organization_usage_counters',
        columns: [
          { ...identity('organization_id'), isPrimary: true },
          { name: 'feature_key', type: 'varchar', length: '64', isPrimary: true },
          { ...time('period_start'), isPrimary: true },
          { name: 'used', type: 'bigint', default: 0 },
          time('limit_reached_at', true),
          time('updated_at'),
        ],
      }),
    );

    for (const table of ['grants', 'license_events']) {
      const current = (await queryRunner.getTable(table))!.findColumnByName('user_id')!;
      const optional = current.clone();
      optional.isNullable = true;
      // user_id has no default; MariaDB reports the column's as the text 'NULL' once down() has run, which
      // TypeORM would write back quoted, an SQL syntax error when the migrations run again.
      optional.default = undefined;
      await queryRunner.changeColumn(table, current, optional);
      await queryRunner.addColumn(table, new TableColumn(identity('organization_id', true)));
    }
    await queryRunner.createIndex(
      'grants',
      new TableIndex({
        name: 'idx_grants_organization_revoked',
        columnNames: ['organization_id', 'revoked_at'],
      }),
    );
    await queryRunner.createIndex(
      'license_events',
      new TableIndex({ name: 'idx_license_events_organization_id', columnNames: ['organization_id', 'id'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('license_events', 'idx_license_events_organization_id');
    await queryRunner.dropIndex('grants', 'idx_grants_organization_revoked');
    for (const table of ['license_events', 'grants']) {
      await queryRunner.query(`DELETE FROM ${table} WHERE user_id IS NULL`);
      await queryRunner.dropColumn(table, 'organization_id');
      const current = (await queryRunner.getTable(table))!.findColumnByName('user_id')!;
      const required = current.clone();
      required.isNullable = false;
      await queryRunner.changeColumn(table, current, required);
    }
    await queryRunner.dropTable('organization_usage_counters');
    await queryRunner.dropTable('seats');
    await queryRunner.dropTable('organization_licenses');
    await queryRunner.dropColumn('features', 'meter_scope');
  }
}
