import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginSubscriptionCallback } from '@apollo/server/plugin/subscriptionCallback';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';

import type { Authenticator } from '../auth/token-verifier';
import type { Config } from '../config';
import type { Database } from '../db/database';
import type { LiveDelivery } from '../events';
import { createRequestContext } from '../graphql/context';
import type { RequestContext } from '../graphql/context';
import { buildSubgraph } from '../graphql/schema';
import type { Services } from '../services';
import { bodyErrors } from './body-errors';
import { healthRoutes } from './health';
import { accessLog } from './logger';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { createOperationPipeline } from './operation-pipeline';
import { InFlightOperations } from './in-flight';
import { requestId } from './request-id';
import { requireRouterSecret } from './router-secret';
import { attachWebSocketServer } from './websocket';
import type { WebSocketTransport } from './websocket';

export interface AppDependencies {
  config: Config;
  db: Database;
  services: Services;
  live: LiveDelivery;
  authenticator: Authenticator;
  logger: Logger;
  metrics: Metrics;
}

export interface RunningApp {
  url: string;
  httpServer: http.Server;
  webSockets: WebSocketTransport;
  /** Closes sockets (1001), finishes in-flight requests and stops listening. */
  stop(): Promise<void>;
}

const MAX_BODY = '1mb';
/** How long shutdown waits for operations whose callers already hung up (Apollo's drain is 10 s too). */
const OPERATIONS_GRACE_MS = 10_000;

/**
 * The transport: GraphQL over HTTP at /graphql (with the router's subscription callback protocol),
 * subscriptions over graphql-ws on the same port and path, health and metrics endpoints, the development
 * JWKS; every request gets an id and one access-log line.
 */
export async function startApp({
  config,
  db,
  services,
  live,
  authenticator,
  logger,
  metrics,
}: AppDependencies): Promise<RunningApp> {
  const app = express();
  const httpServer = http.createServer(app);
  const schema = await buildSubgraph();
  const pipeline = createOperationPipeline({ nodeEnv: config.nodeEnv, logger });
  const webSockets = attachWebSocketServer({
    httpServer,
    schema,
    pipeline,
    limits: config.webSockets,
    services,
    feed: live.feed,
    authenticator,
    routerSecret: config.routerSecret,
    logger,
  });
  const operations = new InFlightOperations();
  const apollo = new ApolloServer<RequestContext>({
    schema,
    ...pipeline.apolloOptions,
    allowBatchedHttpRequests: false,
    // main.ts owns shutdown (sockets, feed, pool, exit code); Apollo's own handler would re-raise the signal.
    stopOnTerminationSignals: false,
    csrfPrevention: true,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginSubscriptionCallback({ logger }),
      { serverWillStart: async () => ({ drainServer: () => webSockets.close() }) },
      pipeline.apolloPlugin,
      metrics.apolloPlugin(),
      operations.plugin(),
      // The schema declares no cache hints; Apollo's default plugin would still wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
    ],
    logger,
  });
  await apollo.start();

  app.disable('x-powered-by');
  app.use(requestId, accessLog(logger), operations.closeConnectionsWhileStopping());
  app.use(healthRoutes(db, live.notifier, config.redisUrl !== undefined, () => operations.isStopping));
  metrics.watchSubscriptions(live.feed);
  app.use(metrics.routes());
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
        createRequestContext(services, live.feed, await authenticator.callerFor(req.headers.authorization)),
    }),
  );

  await new Promise<void>((resolve) => httpServer.listen(config.port, resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://localhost:${port}/graphql`,
    httpServer,
    webSockets,
    async stop() {
      operations.beginStopping();
      await apollo.stop();
      await operations.settled(OPERATIONS_GRACE_MS);
    },
  };
}
