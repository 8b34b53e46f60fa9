import 'reflect-metadata';

import { createAuthenticator } from './auth/token-verifier';
import { ConfigError, loadConfig } from './config';
import type { Config } from './config';
import { createDataSource } from './db/data-source';
import { Database } from './db/database';
import { prepareDatabase } from './db/migrate';
import { createServices } from './services';
import { startApp } from './server/app';
import { createLogger } from './server/logger';

async function main(config: Config): Promise<void> {
  const logger = createLogger(config);
  const dataSource = await createDataSource(config.database).initialize();
  await prepareDatabase(dataSource, { seedCatalog: config.seedCatalog });
  const db = new Database(dataSource);
  const authenticator = await createAuthenticator(config);
  const app = await startApp({ config, db, services: createServices(db, config), authenticator, logger });
  logger.info({ url: app.url, database: config.database.type }, 'entitlements subgraph ready');

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await app.stop();
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
