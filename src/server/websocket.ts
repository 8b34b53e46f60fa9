import type http from 'node:http';

import type {
  DocumentNode,
  ExecutionArgs,
  ExecutionResult,
  GraphQLFormattedError,
  GraphQLSchema,
  ValidationRule,
} from 'graphql';
import { getOperationAST, GraphQLError, parse, specifiedRules, validate } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { LRUCache } from 'lru-cache';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';

import type { Caller } from '../auth/caller';
import type { Authenticator } from '../auth/token-verifier';
import type { WebSocketLimits } from '../config';
import type { EventFeed } from '../events';
import { atTime } from '../events/at-time';
import { createRequestContext } from '../graphql/context';
import { isTokenLimitError, parseOptions } from '../graphql/limits';
import type { Logger } from '../logger';
import type { Services } from '../services';
import { IdentitySlots } from './identity-slots';
import type { OperationPipeline } from './operation-pipeline';
import { matchesSecret } from './router-secret';
import { subscribeShared } from './shared-execution';

/**
 * A socket that is not the router's (ROUTER_SECRET) or has no valid token: graphql-ws clients give up at once
 * on 4401, where they would retry 4403 (graphql-ws's own code for a refused onConnect) with the same token.
 */
const UNAUTHORIZED = 4401;
/** The identity provider did not answer, so the token could not be checked: clients retry this one. */
const TRY_AGAIN_LATER = 1013;
/** A token that expired on an open socket: clients may reconnect with a fresh one. */
const TOKEN_EXPIRED = 4403;
/** An identity over its number of open sockets (HTTP's 429, in the application's range of close codes). */
const TOO_MANY_SOCKETS = 4429;
/** The largest message a client may send, as HTTP's body limit; ws closes with 1009 before buffering more. */
const MAX_MESSAGE_BYTES = 1024 * 1024;
const GOING_AWAY = 1001;

type SocketExtra = {
  socket: WebSocket;
  /** Dropped (set to undefined) once the socket is authenticated. */
  request: http.IncomingMessage;
  caller?: Caller;
  /** Cancels the close at the token's expiry. */
  cancelExpiry?: () => void;
  /** Set once the socket counts towards its identity's open sockets. */
  countedFor?: string;
};

export interface WebSocketTransport {
  /** Open sockets. */
  clientCount(): number;
  /** Closes every socket with 1001 (going away) and stops accepting. */
  close(): Promise<void>;
}

/**
 * Subscriptions over graphql-ws on the HTTP server's port and path. The token comes from
 * `connection_init` (`authorization`, `Authorization` or `token`, with or without `Bearer `) or the upgrade
 * request; every subscribe message goes through the same operation pipeline as HTTP (limits, cost with
 * its variables, introspection rule, error masking and logging).
 */
export function attachWebSocketServer(options: {
  httpServer: http.Server;
  schema: GraphQLSchema;
  pipeline: OperationPipeline;
  limits: WebSocketLimits;
  services: Services;
  feed: EventFeed;
  authenticator: Authenticator;
  routerSecret: string | undefined;
  logger: Logger;
}): WebSocketTransport {
  const { schema, pipeline, limits, services, feed, authenticator, routerSecret, logger } = options;
  const wss = new WebSocketServer({
    server: options.httpServer,
    path: '/graphql',
    maxPayload: MAX_MESSAGE_BYTES,
  });
  const documents = new DocumentCache(schema, [...specifiedRules, ...pipeline.validationRules]);
  const socketsByIdentity = new IdentitySlots(limits.maxSocketsPerIdentity);
  /** Subscribers of one document share each event's result (shared-execution.ts); format it once. */
  const formatted = new WeakMap<ExecutionResult, GraphQLFormattedError[]>();

  const cleanup = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      schema,
      // Close reasons of internal failures say "Internal server error" only, in production.
      isProd: pipeline.production,
      async onConnect(ctx) {
        if (routerSecret && !matchesSecret(routerSecret, ctx.extra.request.headers['router-authorization'])) {
          return refuse(ctx.extra.socket, 'Missing or wrong router-authorization');
        }
        const caller = await authenticator.callerFor(tokenOf(ctx.connectionParams, ctx.extra.request));
        if (caller.subject === null) {
          const code = caller.checkUnavailable ? TRY_AGAIN_LATER : UNAUTHORIZED;
          return refuse(ctx.extra.socket, caller.problem ?? 'Unauthorized', code);
        }
        // Gone while its token was checked: onClose has run already and would never count it out.
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        if (!socketsByIdentity.take(caller.subject)) {
          ctx.extra.socket.close(
            TOO_MANY_SOCKETS,
            `Too many open sockets for this identity (at most ${limits.maxSocketsPerIdentity})`,
          );
          return false;
        }
        ctx.extra.countedFor = caller.subject;
        ctx.extra.caller = caller;
        if (caller.expiresAt) closeAtExpiry(ctx.extra, caller.expiresAt);
        // Nothing needs the upgrade request or the token again; a socket may live for hours.
        (ctx.extra as { request?: unknown }).request = undefined;
        (ctx as { connectionParams?: unknown }).connectionParams = undefined;
        return true;
      },
      subscribe: subscribeShared,
      onSubscribe(ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] {
        // graphql-ws has already registered this one.
        if (Object.keys(ctx.subscriptions).length > limits.maxOperationsPerSocket) {
          return [
            coded(
              `Too many operations on this socket (at most ${limits.maxOperationsPerSocket} at a time)`,
              'GRAPHQL_VALIDATION_FAILED',
            ),
          ];
        }
        const checked = documents.get(payload.query);
        if ('errors' in checked) return checked.errors;
        const { document } = checked;
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [coded('Unable to identify operation', 'GRAPHQL_VALIDATION_FAILED')];
        const caller = ctx.extra.caller as Caller;
        try {
          pipeline.checkOperation(document, operation, payload.variables, caller);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        return {
          schema,
          document,
          variableValues: payload.variables,
          operationName: payload.operationName,
          contextValue: createRequestContext(services, feed, caller),
        };
      },
      onNext(_ctx, _id, _payload, _args, result) {
        if (!result.errors) return undefined;
        let errors = formatted.get(result);
        if (!errors) formatted.set(result, (errors = pipeline.formatErrors(result.errors)));
        return { ...result, errors };
      },
      onError(_ctx, _id, _payload, errors) {
        return pipeline.formatErrors(errors);
      },
      onClose(ctx) {
        ctx.extra.cancelExpiry?.();
        if (ctx.extra.countedFor !== undefined) socketsByIdentity.release(ctx.extra.countedFor);
      },
    },
    wss,
  );

  function closeAtExpiry(extra: SocketExtra, expiresAt: Date): void {
    extra.cancelExpiry = atTime(expiresAt, () => extra.socket.close(TOKEN_EXPIRED, 'Token expired'));
  }

  wss.on('error', (error) => logger.error({ err: error }, 'websocket server error'));
  // A client's protocol error (a message over the cap, a bad frame): ws has already closed the socket with
  // the right code (1009, 1002, ...). graphql-ws would also print it to the console, outside the JSON log.
  wss.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (error) => logger.info({ err: { message: error.message } }, 'websocket client error'));
  });

  return {
    clientCount: () => wss.clients.size,
    async close() {
      for (const client of wss.clients) client.close(GOING_AWAY, 'Server shutting down');
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/**
 * Parsed and validated subscription documents by query text. Services open many subscriptions with the same
 * text; sharing one document keeps memory per subscription small and lets their executions be shared.
 */
export class DocumentCache {
  // Bounded in entries and in what they hold: the query text and its parsed document, measured as the
  // document's JSON (a field of 4 characters is a tree of five objects, which the text alone would not count).
  private readonly checked = new LRUCache<string, { document: DocumentNode } | { errors: GraphQLError[] }>({
    max: 1000,
    maxSize: 16 * 1024 * 1024,
    sizeCalculation: (entry, query) =>
      query.length + ('document' in entry ? JSON.stringify(entry.document).length : 0) + 1,
  });

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: ValidationRule[],
  ) {}

  get(query: string): { document: DocumentNode } | { errors: GraphQLError[] } {
    let entry = this.checked.get(query);
    if (!entry) this.checked.set(query, (entry = this.check(query)));
    return entry;
  }

  private check(query: string): { document: DocumentNode } | { errors: GraphQLError[] } {
    let document: DocumentNode;
    try {
      document = parse(query, { ...parseOptions, noLocation: true });
    } catch (error) {
      const message = error instanceof Error ? error.message : 'Invalid query';
      return {
        errors: [
          coded(message, isTokenLimitError(message) ? 'GRAPHQL_VALIDATION_FAILED' : 'GRAPHQL_PARSE_FAILED'),
        ],
      };
    }
    const errors = validate(this.schema, document, this.rules);
    return errors.length > 0
      ? { errors: errors.map((error) => coded(error.message, 'GRAPHQL_VALIDATION_FAILED')) }
      : { document };
  }
}

/** Closes first, with our code and reason: graphql-ws's own close (4403) then finds the socket closing. */
function refuse(socket: WebSocket, reason: string, code = UNAUTHORIZED): false {
  socket.close(code, reason);
  return false;
}

/** The codes Apollo Server gives the same failures over HTTP. */
function coded(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** The token of a socket: from `connection_init`, else from the upgrade request's Authorization header. */
function tokenOf(
  params: Record<string, unknown> | undefined,
  request: http.IncomingMessage,
): string | undefined {
  for (const name of ['authorization', 'Authorization', 'token']) {
    const value = params?.[name];
    if (typeof value === 'string' && value.trim()) return value;
  }
  return request.headers.authorization;
}
