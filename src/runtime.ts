import type { DataSource } from 'typeorm';

import { createAuthenticator } from './auth/token-verifier';
import type { Config } from './config';
import { Database } from './db/database';
import { startLiveDelivery } from './events';
import type { LiveDelivery } from './events';
import { createServices } from './services';
import type { Services } from './services';
import { startApp } from './server/app';
import type { RunningApp } from './server/app';
import type { Logger } from './server/logger';
import { Metrics } from './server/metrics';

export interface Subgraph {
  db: Database;
  services: Services;
  live: LiveDelivery;
  app: RunningApp;
  /** Stops the transport, then the background work; the data source stays the caller's to close. */
  stop(): Promise<void>;
}

/** Everything above the database, wired once for main.ts and for the tests: services, live delivery, transport. */
export async function startSubgraph(
  config: Config,
  dataSource: DataSource,
  logger: Logger,
): Promise<Subgraph> {
  const db = new Database(dataSource);
  const services = createServices(db, config);
  const authenticator = await createAuthenticator(config);
  const metrics = new Metrics(db);
  const live = await startLiveDelivery(config, services, logger, metrics.liveObservers);
  const app = await startApp({ config, db, services, live, authenticator, logger, metrics });
  return {
    db,
    services,
    live,
    app,
    async stop() {
      await app.stop();
      await live.stop();
    },
  };
}
