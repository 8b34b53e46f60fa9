import 'reflect-metadata';

import type { Config } from './config';
import { ConfigError, loadConfig } from './config';
import { openDatabase } from './db/migrate';
import type { Logger } from './logger';
import { createLogger } from './logger';
import { startSubgraph } from './runtime';
import { ListenError } from './server/app';

const SHUTDOWN_DEADLINE_MS = 30_000;

async function main(config: Config, logger: Logger): Promise<void> {
  const dataSource = await openDatabase(config.database, { seedCatalog: config.seedCatalog, log: logger });
  const { app, stop } = await startSubgraph(config, dataSource, logger).catch((error: unknown) => {
    if (!(error instanceof ListenError)) throw error;
    // Not a bug: one line that tells the operator what to change, and a failed exit for the supervisor.
    logger.fatal(error.message);
    process.exit(1);
  });
  logger.info(
    {
      url: app.url,
      webSocketUrl: app.url.replace(/^http/, 'ws'),
      database: config.database.type,
      // Not `token`: the logger redacts any field of that name.
      ...(config.auth.jwksUrl === undefined && {
        mintTokensWith: 'npm run --silent token -- --sub ID --scope "..."',
      }),
    },
    'entitlements subgraph ready',
  );

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // In-flight requests get Apollo's 10 s drain; whatever still hangs after this (a database that
    // stopped answering) must not keep the process from exiting.
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
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
    // Without a configuration there is no log level to honour: the one line goes out as JSON all the same.
    createLogger({ logLevel: 'info', nodeEnv: 'production' }).fatal(
      { problems: error.problems },
      error.message,
    );
    process.exit(1);
  }
}

const config = configOrExit();
const logger = createLogger(config);
main(config, logger).catch((error: unknown) => {
  logger.fatal({ err: error }, 'entitlements subgraph failed to start');
  process.exit(1);
});
