import 'reflect-metadata';

import type { DataSource, Logger } from 'typeorm';

import type { DatabaseConfig } from '../../src/config';
import { createDataSource } from '../../src/db/data-source';
import { prepareDatabase } from '../../src/db/migrate';
import { workerDatabaseUrl, workerId } from './workers';

/**
 * MySQL when TEST_DATABASE_URL says so, else SQLite (in memory per suite, unless `sqlite:PATH`). Each Jest
 * worker has a database of its own (`<db>_w<worker>`, `PATH-w<worker>`; the global setup creates the MySQL
 * ones), so that suites running at the same time do not reset each other's tables.
 */
export function testDatabaseConfig(): DatabaseConfig {
  const url = process.env.TEST_DATABASE_URL;
  if (url?.startsWith('mysql://')) return { type: 'mysql', url: workerDatabaseUrl(url) };
  const path = url?.startsWith('sqlite:') ? url.slice('sqlite:'.length) : ':memory:';
  return { type: 'better-sqlite3', path: path === ':memory:' ? path : `${path}-w${workerId()}` };
}

export const onMysql = testDatabaseConfig().type === 'mysql';

/** Suites that need a MySQL server (two processes on one database, row locks); CI runs them on MariaDB. */
export const describeOnMysql = onMysql ? describe : describe.skip;

/**
 * A freshly migrated, empty database (every table dropped first), optionally with the demo catalog;
 * with `keepData`, the test database as the last suite left it (a restarted server).
 */
export async function openTestDatabase(
  options: { logger?: Logger; seedCatalog?: boolean; keepData?: boolean } = {},
): Promise<DataSource> {
  const dataSource = await createDataSource(testDatabaseConfig(), { logger: options.logger }).initialize();
  if (!options.keepData) await dataSource.dropDatabase();
  await prepareDatabase(dataSource, { seedCatalog: options.seedCatalog ?? false });
  return dataSource;
}
