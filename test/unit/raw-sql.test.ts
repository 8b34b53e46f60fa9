import type { SqlValue } from 'mysql2';
import { format } from 'mysql2';
import type { EntityManager } from 'typeorm';
import { MysqlDriver } from 'typeorm/driver/mysql/MysqlDriver';

import type { Statement } from '../../src/db/raw-sql';
import { statement, upsert } from '../../src/db/raw-sql';

/** What statement() reads of a manager on MySQL. */
const mysql = { connection: { driver: { options: { type: 'mysql' } } } } as unknown as EntityManager;
const bindMysql = (sql: string, parameters: Record<string, unknown>) => statement(mysql, sql, parameters);

/** The text mysql2 sends for a statement on our connections (`timezone: 'Z'`). */
const sent = ({ sql, parameters }: Statement) => format(sql, parameters as SqlValue[], false, 'Z');

/** TypeORM's own binding for MySQL, whose text bindMysql must send exactly. */
function typeormBinding(
  sql: string,
  parameters: Record<string, unknown>,
): { sql: string; parameters: unknown[] } {
  const [bound, values] = MysqlDriver.prototype.escapeQueryWithParameters.call(
    { createParameter: () => '?' },
    sql,
    parameters,
  );
  return { sql: bound, parameters: values };
}

describe('binding named parameters for MySQL', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  it.each<[string, string, Record<string, unknown>]>([
    ['no parameters', 'SELECT 1', {}],
    ['names without parameters', 'SELECT :a, :b', {}],
    ['one value', 'SELECT * FROM licenses WHERE user_id = :userId FOR UPDATE', { userId: 'alice' }],
    [
      'lists and values',
      'SELECT * FROM grants WHERE user_id IN (:...ids) AND (expires_at IS NULL OR expires_at > :now)',
      { ids: ['a', 'b', 'c'], now },
    ],
    ['a one-item list', 'SELECT * FROM licenses WHERE user_id IN (:...ids)', { ids: ['a'] }],
    ['a name used twice', 'SELECT :x + :x, :y', { x: 1, y: null }],
    ['a name not given, kept as written', 'SELECT :given, :missing', { given: 2 }],
    ['a function, inlined', 'SELECT :now', { now: () => 'CURRENT_TIMESTAMP(6)' }],
    ['dots in names, and text after the last', 'SELECT :a.b FROM t -- end', { 'a.b': 'v' }],
  ])('%s: as TypeORM binds it', (_name, sql, parameters) => {
    expect(sent(bindMysql(sql, parameters))).toEqual(sent(typeormBinding(sql, parameters)));
    // Again, from the template kept for this text.
    expect(sent(bindMysql(sql, parameters))).toEqual(sent(typeormBinding(sql, parameters)));
  });

  it('binds other values into a text seen before', () => {
    const sql = 'SELECT * FROM t WHERE id IN (:...ids) AND at > :at';
    bindMysql(sql, { ids: ['a'], at: now });
    expect(bindMysql(sql, { ids: ['b', 'c'], at: 5 })).toEqual({
      sql: 'SELECT * FROM t WHERE id IN (?, ?) AND at > ?',
      parameters: ['b', 'c', 5],
    });
  });
});

describe('a multi-row upsert for MySQL', () => {
  it('sends its dates as mysql2 would, however many rows share one', () => {
    const now = new Date('2030-01-01T12:34:56.789Z');
    const epoch = new Date(0);
    const rows = [
      ['a', now, epoch],
      ['b', now, new Date(Date.UTC(9999, 11, 31))],
    ];
    const statement = upsert(mysql, 't', ['id', 'at', 'since'], rows, { key: ['id'], update: ['at'] });
    expect(sent(statement)).toEqual(format(statement.sql, rows.flat() as SqlValue[], false, 'Z'));
    expect(statement.parameters).toContain('2030-01-01 12:34:56.789');
  });
});
