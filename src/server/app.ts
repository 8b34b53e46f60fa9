import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';

import type { Authenticator } from '../auth/token-verifier';
import type { Config } from '../config';
import type { Database } from '../db/database';
import { createRequestContext } from '../graphql/context';
import type { RequestContext } from '../graphql/context';
import { parseOptions, queryLimitRules } from '../graphql/limits';
import { buildSubgraph } from '../graphql/schema';
import type { Services } from '../services';
import { bodyErrors } from './body-errors';
import { errorFormatter } from './errors';
import { healthRoutes } from './health';
import type { Logger } from './logger';
import { requireRouterSecret } from './router-secret';

export interface AppDependencies {
  config: Config;
  db: Database;
  services: Services;
  authenticator: Authenticator;
  logger: Logger;
}

export interface RunningApp {
  url: string;
  httpServer: http.Server;
  stop(): Promise<void>;
}

const MAX_BODY = '1mb';

/** HTTP transport: GraphQL at /graphql, health endpoints and the development JWKS, on one port. */
export async function startApp({
  config,
  db,
  services,
  authenticator,
  logger,
}: AppDependencies): Promise<RunningApp> {
  const production = config.nodeEnv === 'production';
  const app = express();
  const httpServer = http.createServer(app);
  const apollo = new ApolloServer<RequestContext>({
    schema: await buildSubgraph(),
    introspection: !production,
    // No "Did you mean ...?" hints that map the schema for a caller who may not introspect it.
    hideSchemaDetailsFromClientErrors: production,
    includeStacktraceInErrorResponses: config.nodeEnv === 'development',
    formatError: errorFormatter({ exposeInternals: config.nodeEnv === 'development', logger }),
    validationRules: queryLimitRules(),
    parseOptions,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer })],
    logger,
  });
  await apollo.start();

  app.disable('x-powered-by');
  app.use(healthRoutes(db));
  if (authenticator.devJwks) {
    const jwks = authenticator.devJwks;
    app.get('/.well-known/jwks.json', (_req, res) => {
      res.json(jwks);
    });
  }
  app.use(
    '/graphql',
    ...(config.routerSecret ? [requireRouterSecret(config.routerSecret)] : []),
    express.json({ limit: MAX_BODY }),
    bodyErrors,
    expressMiddleware(apollo, {
      context: async ({ req }) =>
        createRequestContext(services, await authenticator.callerFor(req.headers.authorization)),
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
