import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { ApolloServerPluginSubscriptionCallback } from '@apollo/server/plugin/subscriptionCallback';
import { createSourceEventStream, GraphQLError } from 'graphql';

import { checkWebhookUrl } from '../domain/webhooks';
import { BadUserInputError, UnauthenticatedError } from '../errors';
import type { RequestContext } from '../graphql/context';
import type { Logger } from '../logger';
import type { OutboundPolicy } from '../outbound/http';
import { CALLBACK_RETRY, CallbackRequests, MAX_HEARTBEAT_FAILURES } from './callback-requests';

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
  /** Heartbeat intervals the router asks for below this are raised to it (0, no heartbeat, stays 0). */
  minHeartbeatMs: number;
  /** Callback subscriptions one identity (token `sub`) may have open at once. */
  maxPerIdentity: number;
  /** When set, the only places callbacks may go: URLs that start with one of these. */
  urlPrefixes: string[] | undefined;
}): ApolloServerPlugin<RequestContext> {
  const requests = new CallbackRequests(options.outbound, options.maxPerIdentity);
  const apollo = ApolloServerPluginSubscriptionCallback({
    logger: options.logger,
    fetcher: requests.fetcher,
    maxConsecutiveHeartbeatFailures: MAX_HEARTBEAT_FAILURES,
    retry: CALLBACK_RETRY,
  }) as ApolloServerPlugin<RequestContext>;
  return {
    serverWillStart: async (service) => apollo.serverWillStart?.(service),
    async requestDidStart(requestContext) {
      if (!requestContext.request.extensions?.subscription) return refuseSubscriptionsWithoutCallback;
      const { caller } = requestContext.contextValue;
      let delegate: GraphQLRequestListener<RequestContext> | undefined;
      /** Whether Apollo's plugin answered: only then may it check, beat and subscribe. */
      let answered = false;
      let accepted: { callbackUrl: string; subscriptionId: string } | null = null;
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
          let callback: ReturnType<typeof callbackOf>;
          try {
            callback = callbackOf(
              request.extensions!.subscription,
              options.minHeartbeatMs,
              options.urlPrefixes,
            );
          } catch (error) {
            response.http.status = 400;
            throw error;
          }
          request.extensions!.subscription = callback;
          const { callbackUrl, subscriptionId, heartbeatIntervalMs } = callback;
          const acceptance = requests.accept(
            callbackUrl,
            subscriptionId,
            heartbeatIntervalMs,
            caller.subject,
          );
          if (acceptance === 'urlInUse') {
            response.http.status = 400;
            throw new BadUserInputError(
              'callbackUrl',
              'callbackUrl serves another open subscription; each subscription needs its own',
            );
          }
          if (acceptance === 'tooMany') {
            response.http.status = 429;
            throw new GraphQLError(
              `At most ${options.maxPerIdentity} callback subscriptions of one identity may be open at once`,
              { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
            );
          }
          accepted = { callbackUrl, subscriptionId };
          delegate = (await apollo.requestDidStart?.(requestContext)) ?? undefined;
        },
        async responseForOperation(context) {
          const response = (await delegate?.responseForOperation?.(context)) ?? null;
          answered = response !== null;
          return response;
        },
        async willSendResponse(context) {
          if (!accepted) return;
          const release = () => requests.release(accepted!.callbackUrl, accepted!.subscriptionId);
          // A later check (the cost, say) may still have refused the request after this one let it through.
          if (!delegate || !answered) return release();
          await delegate.willSendResponse?.(context);
          const { body, http } = context.response;
          if (http.status === 500 && body.kind === 'single' && body.singleResult.errors?.length) {
            release();
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

/** Apollo's plugin's own default when the router names no interval. */
const DEFAULT_HEARTBEAT_MS = 5000;
/** An hour; setInterval would take anything above 2^31 - 1 ms as 1 ms. */
const MAX_HEARTBEAT_MS = 3_600_000;
const MAX_CALLBACK_ID_LENGTH = 256;

/**
 * The router's `extensions.subscription`, checked and in the one spelling Apollo's plugin reads first: an
 * absolute http(s) URL without credentials, an id and a verifier of at most 256 characters (they are echoed
 * in every request), a heartbeat interval of at least `minHeartbeatMs` and at most an hour (or 0: none), and
 * the URL under one of `urlPrefixes` when they are set.
 */
function callbackOf(extension: unknown, minHeartbeatMs: number, urlPrefixes: string[] | undefined) {
  const given = (extension ?? {}) as Record<string, unknown>;
  const text = (value: unknown, field: string): string => {
    if (typeof value === 'string' && value.length > 0 && value.length <= MAX_CALLBACK_ID_LENGTH) return value;
    throw new BadUserInputError(field, `${field} must be 1 to ${MAX_CALLBACK_ID_LENGTH} characters`);
  };
  const url = given.callbackUrl ?? given.callback_url;
  const interval = given.heartbeatIntervalMs ?? given.heartbeat_interval_ms ?? DEFAULT_HEARTBEAT_MS;
  if (
    typeof interval !== 'number' ||
    !Number.isInteger(interval) ||
    interval < 0 ||
    interval > MAX_HEARTBEAT_MS
  ) {
    throw new BadUserInputError(
      'heartbeatIntervalMs',
      `heartbeatIntervalMs must be a whole number of milliseconds from 0 to ${MAX_HEARTBEAT_MS}`,
    );
  }
  const callbackUrl = checkWebhookUrl(typeof url === 'string' ? url : '', 'callbackUrl').href;
  if (urlPrefixes && !urlPrefixes.some((prefix) => callbackUrl.startsWith(prefix))) {
    throw new BadUserInputError(
      'callbackUrl',
      'callbackUrl is not one this subgraph calls back (CALLBACK_URL_PREFIXES)',
    );
  }
  return {
    callbackUrl,
    subscriptionId: text(given.subscriptionId ?? given.subscription_id, 'subscriptionId'),
    verifier: text(given.verifier, 'verifier'),
    heartbeatIntervalMs: interval === 0 ? 0 : Math.max(interval, minHeartbeatMs),
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
