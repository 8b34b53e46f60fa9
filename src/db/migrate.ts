import type { Logger as AppLogger } from 'pino';
import type { DataSource } from 'typeorm';

import type { DatabaseConfig } from '../config';
import { createDataSource, discardConnectionsWithPendingStatements } from './data-source';
import { seedDemoCatalog } from './seed';

const LOCK_NAME = 'entitlements_subgraph_migrations:';
const LOCK_TIMEOUT_SECONDS = 120;

/**
 * Migrates and returns the data source to serve with. On MySQL the migrations run on a data source of their
 * own, without the query timeout (a migration may rightly take long); SQLite keeps one (`:memory:` must).
 */
export async function openDatabase(
  database: DatabaseConfig,
  options: { seedCatalog: boolean; log?: AppLogger },
): Promise<DataSource> {
  const { log } = options;
  if (database.type === 'mysql') {
    const migrating = await createDataSource(
      { ...database, queryTimeoutMs: undefined },
      { log },
    ).initialize();
    try {
      await prepareDatabase(migrating, options);
    } finally {
      await migrating.destroy();
    }
    const serving = await createDataSource(database, { log }).initialize();
    discardConnectionsWithPendingStatements(serving);
    return serving;
  }
  const dataSource = await createDataSource(database, { log }).initialize();
  await prepareDatabase(dataSource, options);
  return dataSource;
}

/**
 * Brings the schema up to date and, when asked, seeds the demo catalog into an empty database.
 * On MySQL, replicas starting together queue on a named lock, so exactly one runs each migration.
 */
export async function prepareDatabase(
  dataSource: DataSource,
  options: { seedCatalog: boolean },
): Promise<void> {
  await withStartupLock(dataSource, async () => {
    await dataSource.runMigrations();
    if (options.seedCatalog) await seedDemoCatalog(dataSource);
  });
}

async function withStartupLock(dataSource: DataSource, work: () => Promise<void>): Promise<void> {
  if (dataSource.options.type !== 'mysql') return work();
  // GET_LOCK belongs to a session, so it is taken and released on one dedicated connection.
  const lockConnection = dataSource.createQueryRunner();
  try {
    // Named locks are server-wide: the database's name keeps two databases on one server apart.
    const [{ acquired }] = await lockConnection.query(
      'SELECT GET_LOCK(CONCAT(?, DATABASE()), ?) AS acquired',
      [LOCK_NAME, LOCK_TIMEOUT_SECONDS],
    );
    if (Number(acquired) !== 1)
      throw new Error(`Timed out waiting for the migration lock ${LOCK_NAME}<database>`);
    try {
      await work();
    } finally {
      await lockConnection.query('SELECT RELEASE_LOCK(CONCAT(?, DATABASE()))', [LOCK_NAME]);
    }
  } finally {
    await lockConnection.release();
  }
}
