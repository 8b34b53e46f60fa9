import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

import type { Logger } from '../logger';
import { logWhenFinished } from './access-log';
import type { InFlightOperations } from './in-flight';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id';

/** One HTTP request as the transport keeps it: its id, its path, and what the access log says of it. */
export interface Exchange {
  readonly id: string;
  /** As requested, without the query string. */
  readonly path: string;
  /** The path as routes name it: lower case, no trailing slash. */
  readonly route: string;
  /** The GraphQL operation name the body gave, if any. */
  operationName?: string;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, exchange: Exchange) => void | Promise<void>;

export interface Routes {
  /** GET (and HEAD) endpoints by path; OPTIONS on them says so. */
  get: Record<string, Handler>;
  /** Everything at a path or under it, whatever the method. */
  mounts: Record<string, Handler>;
}

/**
 * The HTTP server's request listener. Every request gets an id (echoed in `x-request-id`) and one access-log
 * line; paths match as Express matched them (any case, a trailing slash allowed); an unknown path is a 404.
 */
export function httpRoutes(options: {
  routes: Routes;
  logger: Logger;
  operations: InFlightOperations;
}): RequestListener {
  const { logger, operations } = options;
  const get = new Map(Object.entries(options.routes.get));
  const mounts = Object.entries(options.routes.mounts);
  const handlerFor = (method: string | undefined, path: string): Handler => {
    const endpoint = get.get(path);
    if (endpoint) {
      if (method === 'GET' || method === 'HEAD') return endpoint;
      if (method === 'OPTIONS') return allowGet;
      return notFound;
    }
    for (const [prefix, handler] of mounts) {
      if (path === prefix || path.startsWith(`${prefix}/`)) return handler;
    }
    return notFound;
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const exchange: Exchange = { id: requestIdOf(req), path, route: routingPath(path) };
    res.setHeader(REQUEST_ID_HEADER, exchange.id);
    logWhenFinished(logger, req, res, exchange);
    operations.track(res);
    const handler = handlerFor(req.method, exchange.route);
    const fail = (error: unknown) => {
      logger.error({ reqId: exchange.id, err: error }, 'unexpected error while answering a request');
      if (res.headersSent) res.destroy();
      else send(res, 500, 'text/plain; charset=utf-8', 'Internal server error\n');
    };
    try {
      handler(req, res, exchange)?.catch(fail);
    } catch (error) {
      fail(error);
    }
  };
}

function routingPath(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}

const allowGet: Handler = (_req, res) => {
  send(res, 200, 'text/plain; charset=utf-8', 'GET, HEAD', { allow: 'GET, HEAD' });
};

const notFound: Handler = (req, res, exchange) => {
  send(res, 404, 'text/plain; charset=utf-8', `Cannot ${req.method} ${exchange.path}\n`, {
    'x-content-type-options': 'nosniff',
  });
};

/** Answers with `body` (no body for HEAD: Node leaves it out). */
export function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers?: Record<string, string>,
): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);
}
