import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table } from 'typeorm';

/**
 * A one-row counter that every catalog change increments in its own transaction, so each replica may keep
 * the catalog in memory and check one primary-key row, instead of reading three tables, on every request.
 */
export class CatalogVersion1764700000000 implements MigrationInterface {
  name = 'CatalogVersion1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'catalog_version',
        columns: [
          { name: 'id', type: 'int', isPrimary: true },
          { name: 'version', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.query('INSERT INTO catalog_version (id, version) VALUES (1, 1)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('catalog_version');
  }
}
