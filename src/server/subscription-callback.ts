import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { ApolloServerPluginSubscriptionCallback } from '@apollo/server/plugin/subscriptionCallback';
import { createSourceEventStream, GraphQLError } from 'graphql';

import { UnauthenticatedError } from '../errors';
import type { RequestContext } from '../graphql/context';
import type { Logger } from '../logger';
import { outboundFetcher } from '../outbound/http';
import type { OutboundPolicy } from '../outbound/http';

/**
 * The router's HTTP callback protocol (Apollo's plugin), guarded so that nothing leaves this server for a
 * caller it does not trust:
 * - without a valid token the request is refused before any callback request is sent (ROUTER_SECRET, when
 *   set, is checked before any GraphQL handling);
 * - callback requests go through the outbound module: webhook address rules, no redirects, one deadline;
 * - only an operation that parsed, validated and whose subscription starts gets Apollo's `check`, heartbeat
 *   and events: Apollo starts the heartbeat before it subscribes and keeps it when subscribing fails, so a
 *   subscription that would fail is refused here, in the HTTP answer, with its own errors;
 * - a failed `check` answers one fixed message, not the network error (which would tell open ports from closed).
 */
export function subscriptionCallbackPlugin(options: {
  logger: Logger;
  outbound: OutboundPolicy;
}): ApolloServerPlugin<RequestContext> {
  const apollo = ApolloServerPluginSubscriptionCallback({
    logger: options.logger,
    fetcher: outboundFetcher(options.outbound),
  }) as ApolloServerPlugin<RequestContext>;
  return {
    serverWillStart: async (service) => apollo.serverWillStart?.(service),
    async requestDidStart(requestContext) {
      if (!requestContext.request.extensions?.subscription) return refuseSubscriptionsWithoutCallback;
      const { caller } = requestContext.contextValue;
      let delegate: GraphQLRequestListener<RequestContext> | undefined;
      return {
        async didResolveOperation({ schema, document, operation, request, contextValue, response }) {
          if (caller.subject === null) {
            response.http.status = 401;
            throw new UnauthenticatedError(caller.problem ?? undefined);
          }
          if (operation?.operation !== 'subscription') {
            response.http.status = 400;
            throw new GraphQLError('A subscription callback needs a subscription operation', {
              extensions: { code: 'BAD_REQUEST' },
            });
          }
          // The stream is opened to see whether it starts, and closed again: the plugin opens its own.
          const stream = await createSourceEventStream({
            schema,
            document,
            variableValues: request.variables,
            operationName: request.operationName,
            contextValue,
          });
          if (!(Symbol.asyncIterator in stream)) {
            response.http.status = 200;
            throw stream.errors?.[0] ?? new GraphQLError('The subscription could not start');
          }
          await (stream as AsyncIterableIterator<unknown>).return?.();
          delegate = (await apollo.requestDidStart?.(requestContext)) ?? undefined;
        },
        responseForOperation: async (context) => (await delegate?.responseForOperation?.(context)) ?? null,
        async willSendResponse(context) {
          if (!delegate) return;
          await delegate.willSendResponse?.(context);
          const { body, http } = context.response;
          if (http.status === 500 && body.kind === 'single' && body.singleResult.errors?.length) {
            body.singleResult.errors = [
              {
                message: 'The callback URL did not accept the subscription',
                extensions: { code: 'INTERNAL_SERVER_ERROR' },
              },
            ];
          }
        },
      };
    },
  };
}

/**
 * A subscription over plain HTTP, without the callback extension, has nowhere to send its events: the caller
 * is told which transports carry them, as a client error (graphql-js would otherwise try to execute it).
 */
const refuseSubscriptionsWithoutCallback: GraphQLRequestListener<RequestContext> = {
  async didResolveOperation({ operation, response }) {
    if (operation?.operation !== 'subscription') return;
    response.http.status = 400;
    throw new GraphQLError(
      'Subscriptions are served over graphql-ws (ws://HOST:PORT/graphql, protocol graphql-transport-ws) or ' +
        "the router's HTTP callback protocol (extensions.subscription), not over a plain HTTP request",
      { extensions: { code: 'BAD_REQUEST' } },
    );
  },
};
