import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

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
  const [bound, values] = manager.connection.driver.escapeQueryWithParameters(sql, parameters);
  return { sql: bound, parameters: values };
}

const columnsCache = new WeakMap<object, ColumnMetadata[]>();

/** Raw rows (`SELECT *`) as entities, each value converted by the driver as TypeORM itself would. */
export function hydrate<T extends ObjectLiteral>(
  manager: EntityManager,
  target: EntityTarget<T>,
  rows: Record<string, unknown>[],
): T[] {
  const metadata = manager.connection.getMetadata(target);
  let columns = columnsCache.get(metadata);
  if (!columns) {
    columns = metadata.columns;
    columnsCache.set(metadata, columns);
  }
  const { driver } = manager.connection;
  return rows.map((row) => {
    const entity: ObjectLiteral = {};
    for (const column of columns) {
      entity[column.propertyName] = driver.prepareHydratedValue(row[column.databaseName], column);
    }
    return entity as T;
  });
}
