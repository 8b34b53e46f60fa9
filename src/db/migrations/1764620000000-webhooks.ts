import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table, TableIndex } from 'typeorm';

import { increasingId } from './columns';

/** Webhook endpoints and the durable delivery queue. */
export class Webhooks1764620000000 implements MigrationInterface {
  name = 'Webhooks1764620000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const time = (name: string, isNullable = false) => ({ name, type: 'datetime', precision: 3, isNullable });

    await queryRunner.createTable(
      new Table({
        name: 'webhook_endpoints',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'url', type: 'varchar', length: '2048' },
          { name: 'secret', type: 'varchar', length: '128' },
          { name: 'event_types', type: 'varchar', length: '512' },
          { name: 'enabled', type: 'boolean' },
          { name: 'created_by', type: 'varchar', length: '255' },
          time('created_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'webhook_deliveries',
        columns: [
          increasingId(queryRunner),
          { name: 'endpoint_id', type: 'varchar', length: '36' },
          { name: 'event_id', type: 'bigint' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'attempts', type: 'int', default: 0 },
          { name: 'last_status_code', type: 'int', isNullable: true },
          { name: 'last_error', type: 'varchar', length: '255', isNullable: true },
          time('next_attempt_at', true),
          time('delivered_at', true),
          time('created_at'),
        ],
        foreignKeys: [
          {
            columnNames: ['endpoint_id'],
            referencedTableName: 'webhook_endpoints',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
        indices: [
          // The dispatcher's claim: pending rows, oldest due first.
          new TableIndex({ name: 'idx_webhook_deliveries_due', columnNames: ['status', 'next_attempt_at'] }),
          // webhookDeliveries(endpointId): one endpoint's history, newest first.
          new TableIndex({ name: 'idx_webhook_deliveries_endpoint', columnNames: ['endpoint_id', 'id'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('webhook_deliveries');
    await queryRunner.dropTable('webhook_endpoints');
  }
}
