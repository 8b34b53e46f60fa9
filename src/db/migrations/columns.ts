import type { QueryRunner, TableColumnOptions } from 'typeorm';

/** An auto-incremented 64-bit `id` primary key: SQLite only auto-increments an INTEGER PRIMARY KEY (64-bit there). */
export function increasingId(queryRunner: QueryRunner): TableColumnOptions {
  return {
    name: 'id',
    type: queryRunner.connection.options.type === 'mysql' ? 'bigint' : 'integer',
    isPrimary: true,
    isGenerated: true,
    generationStrategy: 'increment',
  };
}
