import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';

import { anonymousCaller } from '../auth/caller';
import type { Config } from '../config';
import type { Database } from '../db/database';
import { createRequestContext } from '../graphql/context';
import type { RequestContext } from '../graphql/context';
import { buildSubgraph } from '../graphql/schema';
import type { Services } from '../services';
import { errorFormatter } from './errors';
import { healthRoutes } from './health';
import type { Logger } from './logger';

export interface AppDependencies {
  config: Config;
  db: Database;
  services: Services;
  logger: Logger;
}

export interface RunningApp {
  url: string;
  httpServer: http.Server;
  stop(): Promise<void>;
}

/** HTTP transport: GraphQL at /graphql plus the health endpoints, on one port. */
export async function startApp({ config, db, services, logger }: AppDependencies): Promise<RunningApp> {
  const app = express();
  const httpServer = http.createServer(app);
  const apollo = new ApolloServer<RequestContext>({
    schema: await buildSubgraph(),
    introspection: config.nodeEnv !== 'production',
    includeStacktraceInErrorResponses: config.nodeEnv === 'development',
    formatError: errorFormatter({ exposeInternals: config.nodeEnv === 'development', logger }),
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer })],
    logger,
  });
  await apollo.start();

  app.disable('x-powered-by');
  app.use(healthRoutes(db));
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async () => createRequestContext(services, anonymousCaller),
    }),
  );

  await new Promise<void>((resolve) => httpServer.listen(config.port, resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://localhost:${port}/graphql`,
    httpServer,
    stop: () => apollo.stop(),
  };
}
