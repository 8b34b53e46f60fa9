import { LRUCache } from 'lru-cache';
import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { DateUtils } from 'typeorm/util/DateUtils';

/** One SQL statement with its parameters already in the driver's placeholder style. */
export interface Statement {
  sql: string;
  parameters: unknown[];
}

/**
 * Binds named parameters (`:name`, `:...list`) the way the driver needs them: dates and booleans for
 * SQLite, lists spread into placeholders. For hot reads, where TypeORM's query builder costs more CPU
 * than the database round trip.
 */
export function statement(manager: EntityManager, sql: string, parameters: ObjectLiteral = {}): Statement {
  const { driver } = manager.connection;
  if (driver.options.type === 'mysql') return bindMysql(sql, parameters);
  const [bound, values] = driver.escapeQueryWithParameters(sql, parameters);
  return { sql: bound, parameters: values };
}

/** One part of `mixedUnion`: rows of `target`'s table (`from`: the table and its conditions), told apart by `kind`. */
export interface UnionPart {
  kind: string;
  target: EntityTarget<ObjectLiteral>;
  from: string;
}

/** `mixedUnion`'s texts by parts: listing every column of every table costs more than the read's rows. */
const unions = new LRUCache<string, string>({ max: 100 });

/**
 * SELECTs of different tables as one result set (SQL text with named parameters, for `statement`): each part
 * selects every column of every part's entity, NULL for those its table lacks, after its `kind` (column
 * `row_kind`). A result set costs the driver far more than a row (each is parsed on its own, and travels in
 * its own packets), so reads of a few rows each are cheaper together; `hydrate` then reads each kind's rows.
 */
export function mixedUnion(manager: EntityManager, parts: readonly UnionPart[]): string {
  const key = parts.map(({ kind, from }) => `${kind}\u0000${from}`).join('\u0000');
  let sql = unions.get(key);
  if (!sql) {
    const owned = parts.map(
      ({ target }) => new Set(manager.connection.getMetadata(target).columns.map((c) => c.databaseName)),
    );
    const columns = [...new Set(owned.flatMap((names) => [...names]))];
    // Names only in the first SELECT (a union's columns are named by it), and no quotes: these are the
    // entities' own column names, and the driver scans the whole text for placeholders on every call.
    sql = parts
      .map(({ kind, from }, i) => {
        const list = columns.map((name) =>
          owned[i].has(name) ? name : i === 0 ? `NULL AS ${name}` : 'NULL',
        );
        return `SELECT '${kind}'${i === 0 ? ' AS row_kind' : ''}, ${list.join(', ')} FROM ${from}`;
      })
      .join(' UNION ALL ');
    unions.set(key, sql);
  }
  return sql;
}

/** A named parameter in SQL text as TypeORM finds it: `:name`, or `:...name` for a list. */
const NAMED_PARAMETER = /:(\.\.\.)?([A-Za-z0-9_.]+)/g;

/** SQL text split around its named parameters: text, then name, spread and original text, in turn. */
type Template = (string | { name: string; spread: boolean; text: string })[];

/** Templates by SQL text: the texts are the code's own, so few; bounded all the same. */
const templates = new LRUCache<string, Template>({ max: 1000 });

/**
 * What TypeORM's MySQL driver does in `escapeQueryWithParameters` (every value a `?`, a list one `?` per
 * item, a function's result inlined, a name without a parameter left as it is), with the text split once
 * per SQL text instead of matched again on every call: on the hot reads that matching cost more CPU than
 * the rest of the statement's preparation.
 */
function bindMysql(sql: string, parameters: ObjectLiteral): Statement {
  const values: unknown[] = [];
  if (Object.keys(parameters).length === 0) return { sql, parameters: values };
  let template = templates.get(sql);
  if (!template) {
    template = [];
    let last = 0;
    for (const match of sql.matchAll(NAMED_PARAMETER)) {
      template.push(sql.slice(last, match.index), { name: match[2], spread: !!match[1], text: match[0] });
      last = match.index + match[0].length;
    }
    template.push(sql.slice(last));
    templates.set(sql, template);
  }
  let bound = '';
  for (const part of template) {
    if (typeof part === 'string') {
      bound += part;
    } else if (!Object.prototype.hasOwnProperty.call(parameters, part.name)) {
      bound += part.text;
    } else {
      const value: unknown = parameters[part.name];
      if (part.spread) {
        for (let i = 0; i < (value as unknown[]).length; i += 1) {
          bound += i === 0 ? '?' : ', ?';
          values.push(mysqlValue((value as unknown[])[i]));
        }
      } else if (typeof value === 'function') {
        bound += (value as () => string)();
      } else {
        bound += '?';
        values.push(mysqlValue(value));
      }
    }
  }
  return { sql: bound, parameters: values };
}

/**
 * A multi-row upsert: `rows` (values in the order of `columns`) into `table`; a row whose `key` exists already
 * sets its `update` columns to the new row's values instead (a column set to itself still takes the row's
 * lock). Written out here because TypeORM's insert builder spends more CPU on a hundred rows' parameters than
 * the database spends writing them; values are bound as TypeORM binds them (SQLite: dates as UTC text).
 */
export function upsert(
  manager: EntityManager,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
  conflict: { key: readonly string[]; update: readonly string[] },
): Statement {
  const mysql = manager.connection.driver.options.type === 'mysql';
  const row = `(${columns.map(() => '?').join(', ')})`;
  const onConflict = mysql
    ? `ON DUPLICATE KEY UPDATE ${conflict.update.map((column) => `${column} = VALUES(${column})`).join(', ')}`
    : `ON CONFLICT (${conflict.key.join(', ')}) DO UPDATE SET ${conflict.update
        .map((column) => `${column} = excluded.${column}`)
        .join(', ')}`;
  const parameters: unknown[] = [];
  // A hundred rows stamped `now` format it once.
  const dates = new Map<number, unknown>();
  const bind = (value: unknown) => {
    if (!(value instanceof Date)) return mysql ? value : sqliteValue(value);
    const time = value.getTime();
    let text = dates.get(time);
    if (text === undefined) dates.set(time, (text = mysql ? mysqlValue(value) : sqliteValue(value)));
    return text;
  };
  for (const values of rows) {
    for (const value of values) parameters.push(bind(value));
  }
  return {
    sql: `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${rows.map(() => row).join(', ')} ${onConflict}`,
    parameters,
  };
}

/**
 * A date as the text mysql2 would write for it on this connection (UTC, `timezone: 'Z'`), written here: the
 * driver's escaper spends more on a Date than on a string. Anything else, and dates outside the years 0 to
 * 9999 (which the services refuse anyway), as they are.
 */
function mysqlValue(value: unknown): unknown {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) return value;
  const iso = value.toISOString();
  return iso.length === 24 ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}` : value;
}

/** A value as TypeORM's SQLite driver binds it (`escapeQueryWithParameters`). */
function sqliteValue(value: unknown): unknown {
  if (value instanceof Date) return DateUtils.mixedDateToUtcDatetimeString(value);
  if (typeof value === 'boolean') return +value;
  return value;
}

/** Column types whose values TypeORM's MySQL driver hydrates as mysql2 reads them (no conversion). */
const MYSQL_AS_READ = new Set<unknown>([String, 'varchar', 'char', 'text', 'int', 'integer', 'bigint']);

type Hydrator = (row: Record<string, unknown>) => ObjectLiteral;

const hydrators = new WeakMap<object, Hydrator>();

/**
 * Reads a raw row into an entity with one object literal of the entity's own property names, compiled once per
 * entity and driver: on the hot reads a loop over the columns, with a property name looked up per value and the
 * driver's conversion called for every one, cost more than the rows' parsing. Values are converted as TypeORM
 * converts them (`prepareHydratedValue`), except on MySQL for the column types it leaves as read. (Compiled with
 * `new Function`: the process must allow code generation from strings, as Node does unless told otherwise.)
 */
function hydratorOf(manager: EntityManager, target: EntityTarget<ObjectLiteral>): Hydrator {
  const metadata = manager.connection.getMetadata(target);
  let hydrator = hydrators.get(metadata);
  if (!hydrator) {
    const { driver } = manager.connection;
    const mysql = driver.options.type === 'mysql';
    const columns = metadata.columns;
    // The names are the entities' own (code, not input); JSON.stringify quotes them all the same.
    const fields = columns.map((column, i) => {
      const value = `row[${JSON.stringify(column.databaseName)}]`;
      const asRead = mysql && !column.transformer && MYSQL_AS_READ.has(column.type);
      return `${JSON.stringify(column.propertyName)}: ${asRead ? value : `convert(${value}, columns[${i}])`}`;
    });
    const compiled = new Function('convert', 'columns', `return (row) => ({ ${fields.join(', ')} });`) as (
      convert: (value: unknown, column: ColumnMetadata) => unknown,
      columns: ColumnMetadata[],
    ) => Hydrator;
    hydrator = compiled((value, column) => driver.prepareHydratedValue(value, column), columns);
    hydrators.set(metadata, hydrator);
  }
  return hydrator;
}

/** Raw rows (`SELECT *`) as entities, each value converted by the driver as TypeORM itself would. */
export function hydrate<T extends ObjectLiteral>(
  manager: EntityManager,
  target: EntityTarget<T>,
  rows: Record<string, unknown>[],
): T[] {
  const hydrator = hydratorOf(manager, target);
  return rows.map((row) => hydrator(row) as T);
}
