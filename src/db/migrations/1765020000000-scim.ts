import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';
import { Table, TableIndex } from 'typeorm';

import { exactCollation } from './collation';

/**
 * SCIM provisioning: the tokens identity providers call with, and the Users and Groups they provision, each in a
 * directory ('' for identities, else an organization's id). Names are unique per directory through unique
 * indexes, so concurrent retries of one POST create one resource and the others fail as 409 uniqueness.
 */
export class Scim1765020000000 implements MigrationInterface {
  name = 'Scim1765020000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type === 'mysql';
    const exact = mysql ? { charset: 'utf8mb4', collation: await exactCollation(queryRunner) } : {};
    const text = (name: string, length: number, isNullable = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable,
      ...exact,
    });
    const id = (name = 'id'): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: '36',
      isPrimary: true,
    });
    const time = (name: string, isNullable = false) => ({ name, type: 'datetime', precision: 3, isNullable });

    await queryRunner.createTable(
      new Table({
        name: 'scim_tokens',
        columns: [
          id(),
          { name: 'secret_hash', type: 'varchar', length: '64' },
          text('organization_id', 128, true),
          { name: 'user_id_attribute', type: 'varchar', length: '16' },
          text('created_by', 255),
          time('created_at'),
          time('revoked_at', true),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'scim_users',
        columns: [
          id(),
          text('directory', 128),
          text('user_name', 255),
          text('user_name_key', 255),
          text('external_id', 255, true),
          text('display_name', 255, true),
          text('display_name_key', 255, true),
          text('subject', 128),
          { name: 'active', type: 'boolean' },
          { name: 'attributes', type: 'text' },
          time('created_at'),
          time('updated_at'),
        ],
        indices: [
          new TableIndex({
            name: 'uq_scim_users_user_name',
            columnNames: ['directory', 'user_name_key'],
            isUnique: true,
          }),
          new TableIndex({
            name: 'uq_scim_users_subject',
            columnNames: ['directory', 'subject'],
            isUnique: true,
          }),
          new TableIndex({ name: 'idx_scim_users_external_id', columnNames: ['directory', 'external_id'] }),
          new TableIndex({
            name: 'idx_scim_users_display_name',
            columnNames: ['directory', 'display_name_key'],
          }),
          // Lists page through a directory oldest first.
          new TableIndex({ name: 'idx_scim_users_created', columnNames: ['directory', 'created_at', 'id'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'scim_groups',
        columns: [
          id(),
          text('directory', 128),
          text('display_name', 255),
          text('display_name_key', 255),
          text('external_id', 255, true),
          time('created_at'),
          time('updated_at'),
        ],
        indices: [
          new TableIndex({
            name: 'uq_scim_groups_display_name',
            columnNames: ['directory', 'display_name_key'],
            isUnique: true,
          }),
          new TableIndex({ name: 'idx_scim_groups_external_id', columnNames: ['directory', 'external_id'] }),
          new TableIndex({ name: 'idx_scim_groups_created', columnNames: ['directory', 'created_at', 'id'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'scim_group_members',
        columns: [id('group_id'), id('user_id')],
        foreignKeys: [
          {
            columnNames: ['group_id'],
            referencedTableName: 'scim_groups',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
          {
            columnNames: ['user_id'],
            referencedTableName: 'scim_users',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
        // A user's groups (User.groups, and removing a deleted user from every group).
        indices: [new TableIndex({ name: 'idx_scim_group_members_user', columnNames: ['user_id'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('scim_group_members');
    await queryRunner.dropTable('scim_groups');
    await queryRunner.dropTable('scim_users');
    await queryRunner.dropTable('scim_tokens');
  }
}
