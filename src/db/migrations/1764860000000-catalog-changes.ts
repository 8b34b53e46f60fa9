import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table, TableIndex } from 'typeorm';

import { increasingId } from './columns';

/**
 * The catalog's audit trail: one row per feature or tier change, written in the change's own transaction,
 * with the entry as it was and as it became. (License events have a fixed set of types; these are not.)
 */
export class CatalogChanges1764860000000 implements MigrationInterface {
  name = 'CatalogChanges1764860000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'catalog_changes',
        columns: [
          increasingId(queryRunner),
          { name: 'entity', type: 'varchar', length: '16' },
          { name: 'entity_key', type: 'varchar', length: '64' },
          { name: 'actor', type: 'varchar', length: '255' },
          // JSON text; null before a creation.
          { name: 'before_state', type: 'text', isNullable: true },
          { name: 'after_state', type: 'text' },
          { name: 'occurred_at', type: 'datetime', precision: 3 },
        ],
        // One entry's history, oldest first.
        indices: [
          new TableIndex({ name: 'idx_catalog_changes_entry', columnNames: ['entity', 'entity_key', 'id'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('catalog_changes');
  }
}
