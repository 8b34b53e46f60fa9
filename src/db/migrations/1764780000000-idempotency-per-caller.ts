import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table, TableIndex } from 'typeorm';

import { exactCollation } from './collation';

/**
 * Idempotency keys belong to the caller that used them (the token's `sub`), so two callers choosing the same
 * key never see each other's response. The keys stored before have no known caller: the table is created
 * anew without them (they were kept only 24 hours anyway).
 */
export class IdempotencyPerCaller1764780000000 implements MigrationInterface {
  name = 'IdempotencyPerCaller1764780000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('idempotency_keys');
    await queryRunner.createTable(await idempotencyKeys(queryRunner, ['caller', 'operation']));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('idempotency_keys');
    await queryRunner.createTable(await idempotencyKeys(queryRunner, ['operation']));
  }
}

/** The table, keyed by `scope` and the key itself. */
async function idempotencyKeys(queryRunner: QueryRunner, scope: ('caller' | 'operation')[]): Promise<Table> {
  const mysql = queryRunner.connection.options.type === 'mysql';
  const exact = mysql ? { charset: 'utf8mb4', collation: await exactCollation(queryRunner) } : {};
  return new Table({
    name: 'idempotency_keys',
    columns: [
      ...(scope.includes('caller')
        ? [{ name: 'caller', type: 'varchar', length: '255', isPrimary: true, ...exact }]
        : []),
      { name: 'operation', type: 'varchar', length: '32', isPrimary: true },
      { name: 'idempotency_key', type: 'varchar', length: '255', isPrimary: true, ...exact },
      // Who won the race to store the key; the others read its response.
      { name: 'claim', type: 'varchar', length: '36' },
      { name: 'request_hash', type: 'varchar', length: '64' },
      { name: 'response', type: 'text', isNullable: true },
      { name: 'created_at', type: 'datetime', precision: 3 },
    ],
    indices: [new TableIndex({ name: 'idx_idempotency_keys_created_at', columnNames: ['created_at'] })],
  });
}
