import 'reflect-metadata';

import { ConfigError, loadConfig } from './config';
import type { Config } from './config';
import { openDatabase } from './db/migrate';
import { startSubgraph } from './runtime';
import { createLogger } from './server/logger';

const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const SHUTDOWN_DEADLINE_MS = 30_000;

async function main(config: Config): Promise<void> {
  const logger = createLogger(config);
  const dataSource = await openDatabase(config.database, { seedCatalog: config.seedCatalog, log: logger });
  const { services, app, stop } = await startSubgraph(config, dataSource, logger);
  logger.info({ url: app.url, database: config.database.type }, 'entitlements subgraph ready');

  // Idempotency keys are kept 24 hours; every replica prunes, which is harmless (a DELETE by age).
  const pruneKeys = () =>
    services.idempotency
      .prune()
      .catch((error: unknown) => logger.warn({ err: error }, 'pruning idempotency keys failed'));
  void pruneKeys();
  const pruning = setInterval(pruneKeys, PRUNE_INTERVAL_MS).unref();

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // In-flight requests get Apollo's 10 s drain; whatever still hangs after this (a database that
    // stopped answering) must not keep the process from exiting.
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    clearInterval(pruning);
    await stop();
    await dataSource.destroy();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

main(configOrExit()).catch((error: unknown) => {
  console.error('entitlements subgraph failed to start:', error);
  process.exit(1);
});
