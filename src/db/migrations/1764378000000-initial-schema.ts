import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';
import { Table, TableIndex } from 'typeorm';

import { exactCollation } from './collation';
import { increasingId } from './columns';

/** Catalog, licenses, grants and the audit trail. One definition for MySQL and SQLite. */
export class InitialSchema1764378000000 implements MigrationInterface {
  name = 'InitialSchema1764378000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type === 'mysql';
    const exact: Partial<TableColumnOptions> = mysql
      ? { charset: 'utf8mb4', collation: await exactCollation(queryRunner) }
      : {};
    const key = (name: string, options: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: '64',
      ...options,
    });
    const userId = (name = 'user_id'): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: '128',
      ...exact,
    });
    const text = (name: string): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: '1000',
      isNullable: true,
    });
    const time = (name: string, isNullable = false): TableColumnOptions => ({
      name,
      type: 'datetime',
      precision: 3,
      isNullable,
    });

    await queryRunner.createTable(
      new Table({
        name: 'features',
        columns: [
          key('key', { isPrimary: true }),
          { name: 'kind', type: 'varchar', length: '16' },
          text('description'),
          { name: 'usage_period', type: 'varchar', length: '8' },
          time('created_at'),
          time('updated_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'tiers',
        columns: [
          key('key', { isPrimary: true }),
          { name: 'name', type: 'varchar', length: '200' },
          { name: 'rank', type: 'int' },
          time('created_at'),
          time('updated_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'tier_entitlements',
        columns: [
          key('tier_key', { isPrimary: true }),
          key('feature_key', { isPrimary: true }),
          { name: 'limit_amount', type: 'int', isNullable: true },
          { name: 'value', type: 'text', isNullable: true },
        ],
        foreignKeys: [
          {
            columnNames: ['tier_key'],
            referencedTableName: 'tiers',
            referencedColumnNames: ['key'],
            onDelete: 'CASCADE',
          },
          { columnNames: ['feature_key'], referencedTableName: 'features', referencedColumnNames: ['key'] },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'licenses',
        columns: [
          { ...userId(), isPrimary: true },
          key('base_tier_key', { isNullable: true }),
          { name: 'status', type: 'varchar', length: '16' },
          time('revoked_at', true),
          text('revoke_reason'),
          key('trial_tier_key', { isNullable: true }),
          time('trial_started_at', true),
          time('trial_ends_at', true),
          time('created_at'),
          time('updated_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'grants',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          userId(),
          key('feature_key'),
          { name: 'limit_amount', type: 'int', isNullable: true },
          { name: 'value', type: 'text', isNullable: true },
          time('starts_at'),
          time('expires_at', true),
          time('revoked_at', true),
          text('revoke_reason'),
          { name: 'granted_by', type: 'varchar', length: '255', ...exact },
          text('reason'),
          time('created_at'),
        ],
        foreignKeys: [
          { columnNames: ['feature_key'], referencedTableName: 'features', referencedColumnNames: ['key'] },
        ],
        // The per-request loader reads a batch of users' unrevoked grants.
        indices: [
          new TableIndex({ name: 'idx_grants_user_revoked', columnNames: ['user_id', 'revoked_at'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'license_events',
        columns: [
          increasingId(queryRunner),
          { name: 'type', type: 'varchar', length: '32' },
          userId(),
          key('feature_key', { isNullable: true }),
          { name: 'grant_id', type: 'varchar', length: '36', isNullable: true },
          key('from_tier_key', { isNullable: true }),
          key('to_tier_key', { isNullable: true }),
          { name: 'actor', type: 'varchar', length: '255', ...exact },
          text('reason'),
          time('occurred_at'),
        ],
        // licenseEvents(userId, after) pages one user's events by id.
        indices: [new TableIndex({ name: 'idx_license_events_user_id', columnNames: ['user_id', 'id'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['license_events', 'grants', 'licenses', 'tier_entitlements', 'tiers', 'features']) {
      await queryRunner.dropTable(table);
    }
  }
}
