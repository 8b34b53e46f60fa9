import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table, TableIndex } from 'typeorm';

import { exactCollation } from './collation';

/** Usage meters (one row per user, feature and period) and idempotency keys. */
export class UsageAndIdempotency1764460000000 implements MigrationInterface {
  name = 'UsageAndIdempotency1764460000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type === 'mysql';
    const exact = mysql ? { charset: 'utf8mb4', collation: await exactCollation(queryRunner) } : {};

    await queryRunner.createTable(
      new Table({
        name: 'usage_counters',
        columns: [
          { name: 'user_id', type: 'varchar', length: '128', isPrimary: true, ...exact },
          { name: 'feature_key', type: 'varchar', length: '64', isPrimary: true },
          { name: 'period_start', type: 'datetime', precision: 3, isPrimary: true },
          { name: 'used', type: 'bigint', default: 0 },
          // Set once, by the call that first reaches the limit in this period: USAGE_LIMIT_REACHED fires once.
          { name: 'limit_reached_at', type: 'datetime', precision: 3, isNullable: true },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'idempotency_keys',
        columns: [
          { name: 'operation', type: 'varchar', length: '32', isPrimary: true },
          { name: 'idempotency_key', type: 'varchar', length: '255', isPrimary: true, ...exact },
          // Who won the race to store the key; the others read its response.
          { name: 'claim', type: 'varchar', length: '36' },
          { name: 'request_hash', type: 'varchar', length: '64' },
          { name: 'response', type: 'text', isNullable: true },
          { name: 'created_at', type: 'datetime', precision: 3 },
        ],
        indices: [new TableIndex({ name: 'idx_idempotency_keys_created_at', columnNames: ['created_at'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('idempotency_keys');
    await queryRunner.dropTable('usage_counters');
  }
}
