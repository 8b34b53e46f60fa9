import type { MigrationInterface, QueryRunner } from 'typeorm';
import { Table, TableColumn, TableIndex } from 'typeorm';

/**
 * What live delivery needs: a one-row table whose lock makes event ids become visible in commit order
 * (so a reader that follows ids never skips one), and marks that let exactly one replica record each
 * grant expiry and trial end.
 */
export class EventDelivery1764540000000 implements MigrationInterface {
  name = 'EventDelivery1764540000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({ name: 'event_sequence', columns: [{ name: 'id', type: 'int', isPrimary: true }] }),
    );
    await queryRunner.query('INSERT INTO event_sequence (id) VALUES (1)');

    await queryRunner.addColumn(
      'grants',
      new TableColumn({ name: 'expiry_recorded_at', type: 'datetime', precision: 3, isNullable: true }),
    );
    await queryRunner.createIndex(
      'grants',
      new TableIndex({
        name: 'idx_grants_unrecorded_expiry',
        columnNames: ['expiry_recorded_at', 'revoked_at', 'expires_at'],
      }),
    );
    await queryRunner.addColumn(
      'licenses',
      new TableColumn({ name: 'trial_end_recorded_at', type: 'datetime', precision: 3, isNullable: true }),
    );
    await queryRunner.createIndex(
      'licenses',
      new TableIndex({
        name: 'idx_licenses_unrecorded_trial_end',
        columnNames: ['trial_end_recorded_at', 'trial_ends_at'],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('licenses', 'idx_licenses_unrecorded_trial_end');
    await queryRunner.dropColumn('licenses', 'trial_end_recorded_at');
    await queryRunner.dropIndex('grants', 'idx_grants_unrecorded_expiry');
    await queryRunner.dropColumn('grants', 'expiry_recorded_at');
    await queryRunner.dropTable('event_sequence');
  }
}
