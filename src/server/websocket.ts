import type http from 'node:http';

import { GraphQLError, parse, specifiedRules, validate } from 'graphql';
import type { DocumentNode, ExecutionArgs, GraphQLSchema, ValidationRule } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

import type { Caller } from '../auth/caller';
import type { Authenticator } from '../auth/token-verifier';
import type { EventFeed } from '../events';
import { createRequestContext } from '../graphql/context';
import { isTokenLimitError, parseOptions, queryLimitRules } from '../graphql/limits';
import type { Services } from '../services';
import type { Logger } from '../logger';
import { matchesRouterSecret } from './router-secret';
import { subscribeShared } from './shared-execution';

/** graphql-ws closes with 4403 ("Forbidden") when onConnect refuses; the same code ends an expired token. */
const FORBIDDEN = 4403;
const GOING_AWAY = 1001;
/** setTimeout's ceiling; a token valid longer is checked again when this fires. */
const MAX_TIMER_MS = 2_147_483_647;

type SocketExtra = {
  socket: WebSocket;
  /** Dropped (set to undefined) once the socket is authenticated. */
  request: http.IncomingMessage;
  caller?: Caller;
  expiry?: NodeJS.Timeout;
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
 * request; the same query limits as HTTP apply to every subscribe message.
 */
export function attachWebSocketServer(options: {
  httpServer: http.Server;
  schema: GraphQLSchema;
  services: Services;
  feed: EventFeed;
  authenticator: Authenticator;
  routerSecret: string | undefined;
  logger: Logger;
}): WebSocketTransport {
  const { schema, services, feed, authenticator, routerSecret, logger } = options;
  const wss = new WebSocketServer({ server: options.httpServer, path: '/graphql' });
  const rules = [...specifiedRules, ...queryLimitRules()];
  const documents = new DocumentCache(schema, rules);

  const cleanup = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      schema,
      async onConnect(ctx) {
        if (
          routerSecret &&
          !matchesRouterSecret(routerSecret, ctx.extra.request.headers['router-authorization'])
        ) {
          return false;
        }
        const caller = await authenticator.callerFor(tokenOf(ctx.connectionParams, ctx.extra.request));
        if (caller.subject === null) return false;
        ctx.extra.caller = caller;
        if (caller.expiresAt) closeAtExpiry(ctx.extra, caller.expiresAt);
        // Nothing needs the upgrade request or the token again; a socket may live for hours.
        (ctx.extra as { request?: unknown }).request = undefined;
        (ctx as { connectionParams?: unknown }).connectionParams = undefined;
        return true;
      },
      subscribe: subscribeShared,
      onSubscribe(ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] {
        const checked = documents.get(payload.query);
        if ('errors' in checked) return checked.errors;
        const { document } = checked;
        return {
          schema,
          document,
          variableValues: payload.variables,
          operationName: payload.operationName,
          contextValue: createRequestContext(services, feed, ctx.extra.caller as Caller),
        };
      },
      onClose(ctx) {
        clearTimeout(ctx.extra.expiry);
      },
    },
    wss,
  );

  function closeAtExpiry(extra: SocketExtra, expiresAt: Date): void {
    const remaining = expiresAt.getTime() - Date.now();
    extra.expiry = setTimeout(
      () => {
        if (Date.now() >= expiresAt.getTime()) extra.socket.close(FORBIDDEN, 'Token expired');
        else closeAtExpiry(extra, expiresAt);
      },
      Math.min(Math.max(remaining, 0), MAX_TIMER_MS),
    );
  }

  wss.on('error', (error) => logger.error({ err: error }, 'websocket server error'));

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
class DocumentCache {
  private static readonly MAX_ENTRIES = 1000;
  private readonly checked = new Map<string, { document: DocumentNode } | { errors: GraphQLError[] }>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: ValidationRule[],
  ) {}

  get(query: string): { document: DocumentNode } | { errors: GraphQLError[] } {
    let entry = this.checked.get(query);
    if (!entry) {
      entry = this.check(query);
      // Oldest first out: a Map iterates in insertion order.
      if (this.checked.size >= DocumentCache.MAX_ENTRIES)
        this.checked.delete(this.checked.keys().next().value!);
      this.checked.set(query, entry);
    }
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
