import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import express from 'express';

import type { Authenticator } from '../auth/token-verifier';
import type { Config } from '../config';
import type { Database } from '../db/database';
import type { LiveDelivery } from '../events';
import type { RequestContext } from '../graphql/context';
import { createRequestContext } from '../graphql/context';
import { buildSubgraph } from '../graphql/schema';
import type { Logger } from '../logger';
import type { Services } from '../services';
import { distinctRepresentationsPlugin } from './distinct-representations';
import { graphqlHttp } from './graphql-http';
import { healthRoutes } from './health';
import { httpRoutes } from './http-routes';
import { InFlightOperations } from './in-flight';
import { jwksRoute } from './jwks';
import type { Metrics } from './metrics';
import { createOperationPipeline } from './operation-pipeline';
import { scimRoutes } from './scim';
import { subscriptionCallbackPlugin } from './subscription-callback';
import type { WebSocketTransport } from './websocket';
import { attachWebSocketServer } from './websocket';

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

/** How long shutdown waits for operations whose callers already hung up (Apollo's drain is 10 s too). */
const OPERATIONS_GRACE_MS = 10_000;

/**
 * The transport: GraphQL over HTTP at /graphql (with the router's subscription callback protocol),
 * subscriptions over graphql-ws on the same port and path, health and metrics endpoints, the JWKS (license
 * token keys, and the development key); every request gets an id and one access-log line.
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
  const httpServer = http.createServer();
  const schema = await buildSubgraph({ authDirectives: config.federationAuthDirectives });
  const pipeline = createOperationPipeline({ schema, nodeEnv: config.nodeEnv, logger });
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
      subscriptionCallbackPlugin({
        logger,
        // The prefixes name the routers the operator trusts: callbacks under them may reach an internal router
        // while webhooks keep WEBHOOK_ALLOW_PRIVATE's rule.
        outbound: { allowPrivate: config.webhooks.allowPrivate || config.callbackUrlPrefixes !== undefined },
        minHeartbeatMs: config.callbackMinHeartbeatMs,
        maxPerIdentity: config.callbackMaxSubscriptionsPerIdentity,
        urlPrefixes: config.callbackUrlPrefixes,
      }),
      // Before the representations are made distinct: the cost counts every one the caller sent.
      pipeline.apolloPlugin,
      distinctRepresentationsPlugin,
      metrics.apolloPlugin(),
      operations.plugin(),
      // The schema declares no cache hints; Apollo's default plugin would still wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
    ],
    logger,
  });
  await apollo.start();

  metrics.watchSubscriptions(live.feed);
  // Express only for SCIM, whose routes it matches and whose bodies it reads.
  const scim = express().disable('x-powered-by');
  // Identity providers call it directly, not through the router: its own tokens, no router secret.
  scim.use('/scim/v2', scimRoutes(services, logger));
  httpServer.on(
    'request',
    httpRoutes({
      logger,
      operations,
      routes: {
        get: {
          ...healthRoutes(db, live.notifier, config.redisUrl !== undefined, () => operations.isStopping),
          ...metrics.routes(config.metricsToken),
          ...jwksRoute([...(authenticator.devJwks?.keys ?? []), ...services.licenseTokens.publicKeys]),
        },
        mounts: {
          '/graphql': graphqlHttp({
            apollo,
            routerSecret: config.routerSecret,
            context: async (req, exchange) =>
              createRequestContext(
                services,
                live.feed,
                await authenticator.callerFor(req.headers.authorization),
                exchange.id,
              ),
            logger,
          }),
          '/scim/v2': (req, res) => scim(req, res),
        },
      },
    }),
  );

  try {
    await listen(httpServer, config.port, config.host);
  } catch (error) {
    await apollo.stop();
    throw error;
  }
  // Attached once the port is ours: `ws` re-emits the server's errors, so a taken port would read as its fault.
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
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://${urlHost(config.host)}:${port}/graphql`,
    httpServer,
    webSockets,
    async stop() {
      operations.beginStopping();
      // As Apollo's drain hooks would: sockets get their close frame while HTTP requests finish.
      await Promise.all([webSockets.close(), apollo.stop()]);
      await operations.settled(OPERATIONS_GRACE_MS);
    },
  };
}

/** The port cannot be had: the operator must free it, choose another or grant the right to bind it. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

function listen(httpServer: http.Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const refuse = (error: NodeJS.ErrnoException) => reject(listenError(error, port, host));
    httpServer.once('error', refuse);
    httpServer.listen(port, host, () => {
      httpServer.off('error', refuse);
      resolve();
    });
  });
}

function listenError(error: NodeJS.ErrnoException, port: number, host?: string): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new ListenError(`port ${port} is already in use`);
    case 'EACCES':
      return new ListenError(`permission denied to listen on port ${port}`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new ListenError(`HOST ${host} is not an address of this machine`);
    default:
      return error;
  }
}

/** How the URL the server reports names the listen address (every interface: localhost). */
function urlHost(host: string | undefined): string {
  if (!host || host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}
