import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import type { Logger as AppLogger } from 'pino';
import type { Logger } from 'typeorm';
import { DataSource } from 'typeorm';

import type { DatabaseConfig } from '../config';
import * as entities from './entities';
import { migrations } from './migrations';
import { QueryLog } from './query-log';

export interface DataSourceOptions {
  /** Where TypeORM's messages go (never with parameters; see QueryLog); unset: nowhere. */
  log?: AppLogger;
  /** Instead of `log`, sees every SQL statement; tests use it to count queries. */
  logger?: Logger;
}

/** Connections per MySQL pool (per replica). */
export const MYSQL_POOL_SIZE = 32;

export function createDataSource(database: DatabaseConfig, options: DataSourceOptions = {}): DataSource {
  const common = {
    entities: Object.values(entities),
    migrations,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logger: options.logger ?? new QueryLog(options.log),
  };
  if (database.type === 'mysql') {
    return new DataSource({
      ...common,
      type: 'mysql',
      url: database.url,
      // DATETIME columns hold UTC; without this mysql2 would convert through the process's time zone.
      timezone: 'Z',
      charset: 'utf8mb4',
      poolSize: MYSQL_POOL_SIZE,
      connectTimeout: 5000,
      // mysql2 captures a stack trace per query for its error messages; on the hot path that costs ~6% CPU.
      // Several statements per round trip: Database.readBatch (values are always bound parameters).
      extra: { trace: false, multipleStatements: true },
      // A server that stops answering (not one that is down: that fails at once) must not hang requests.
      ...(database.queryTimeoutMs
        ? { enableQueryTimeout: true, maxQueryExecutionTime: database.queryTimeoutMs }
        : {}),
    });
  }
  if (database.path !== ':memory:') mkdirSync(dirname(database.path), { recursive: true });
  return new DataSource({
    ...common,
    type: 'better-sqlite3',
    database: database.path,
    enableWAL: database.path !== ':memory:',
    prepareDatabase: (db: { pragma(source: string): unknown }) => {
      db.pragma('foreign_keys = ON');
    },
  });
}

interface Mysql2Pool {
  releaseConnection(connection: Mysql2PoolConnection): void;
}
interface Mysql2PoolConnection {
  _command?: unknown;
  destroy(): void;
}

/**
 * mysql2's query timeout only reports the error: the statement stays queued on its connection, and the next
 * request lent that connection would wait behind it until the server answers again. A connection returned
 * to the pool with a statement still running is therefore closed instead (the pool opens a fresh one).
 */
export function discardConnectionsWithPendingStatements(dataSource: DataSource): void {
  const pool = (dataSource.driver as unknown as { pool?: Mysql2Pool }).pool;
  if (!pool) return;
  const release = pool.releaseConnection.bind(pool);
  pool.releaseConnection = (connection) => {
    if (connection._command) connection.destroy();
    else release(connection);
  };
}
